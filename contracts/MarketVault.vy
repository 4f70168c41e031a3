# pragma version 0.4.3
"""
@title MarketVault
@notice Holds the ERC-20 tokens behind the market's ledger. Anyone deposits an allowed token for a
        market actor (Deposited names the actor the market credits); only the market's operator
        withdraws, each withdrawalId at most once, within a per-token daily limit, while not paused.
        The owner (a separate key from the operator) allows tokens, sets the limits and the operator,
        and pauses: a leaked operator key can move at most one day's limit before the owner pauses.
        Ownership moves in two steps (transferOwnership, then acceptOwnership by the new owner).
"""

from ethereum.ercs import IERC20

event Deposited:
    token: indexed(address)
    payer: indexed(address)
    actor: indexed(address)
    amount: uint256

event Withdrawn:
    token: indexed(address)
    receiver: indexed(address)
    withdrawalId: indexed(bytes32)
    amount: uint256

event TokenConfigured:
    token: indexed(address)
    allowed: bool
    dailyLimit: uint256

event OperatorChanged:
    previous: indexed(address)
    operator: indexed(address)

event Paused:
    by: indexed(address)

event Unpaused:
    by: indexed(address)

event OwnershipTransferStarted:
    previous: indexed(address)
    pendingOwner: indexed(address)

event OwnershipTransferred:
    previous: indexed(address)
    owner: indexed(address)

DAY: constant(uint256) = 86400

owner: public(address)
pendingOwner: public(address)
operator: public(address)
paused: public(bool)
tokenAllowed: public(HashMap[address, bool])
dailyLimit: public(HashMap[address, uint256])
# token -> day number (block.timestamp // DAY) -> amount withdrawn that day
withdrawnOnDay: public(HashMap[address, HashMap[uint256, uint256]])
withdrawalDone: public(HashMap[bytes32, bool])


@deploy
def __init__(operator: address):
    assert operator != empty(address), "operator is the zero address"
    self.owner = msg.sender
    self.operator = operator
    log OwnershipTransferred(previous=empty(address), owner=msg.sender)
    log OperatorChanged(previous=empty(address), operator=operator)


@external
def deposit(token: address, amount: uint256, actor: address):
    """@notice Pull `amount` of `token` from the caller (approve it first) for `actor`."""
    assert not self.paused, "paused"
    assert self.tokenAllowed[token], "token not allowed"
    assert amount > 0, "amount is zero"
    assert actor != empty(address), "actor is the zero address"
    log Deposited(token=token, payer=msg.sender, actor=actor, amount=amount)
    assert extcall IERC20(token).transferFrom(msg.sender, self, amount, default_return_value=True), "transfer failed"


@external
def withdraw(token: address, receiver: address, amount: uint256, withdrawalId: bytes32):
    """@notice Pay `amount` of `token` to `receiver`: operator only, each withdrawalId once."""
    assert msg.sender == self.operator, "not the operator"
    assert not self.paused, "paused"
    assert self.tokenAllowed[token], "token not allowed"
    assert amount > 0, "amount is zero"
    assert receiver != empty(address), "receiver is the zero address"
    assert not self.withdrawalDone[withdrawalId], "withdrawal id used"
    day: uint256 = block.timestamp // DAY
    spent: uint256 = self.withdrawnOnDay[token][day] + amount
    assert spent <= self.dailyLimit[token], "daily limit"
    self.withdrawalDone[withdrawalId] = True
    self.withdrawnOnDay[token][day] = spent
    log Withdrawn(token=token, receiver=receiver, withdrawalId=withdrawalId, amount=amount)
    assert extcall IERC20(token).transfer(receiver, amount, default_return_value=True), "transfer failed"


@view
@external
def withdrawableToday(token: address) -> uint256:
    """@notice What the operator may still withdraw of `token` today."""
    spent: uint256 = self.withdrawnOnDay[token][block.timestamp // DAY]
    limit: uint256 = self.dailyLimit[token]
    if spent >= limit:
        return 0
    return limit - spent


@external
def configureToken(token: address, allowed: bool, dailyLimit: uint256):
    self._only_owner()
    self.tokenAllowed[token] = allowed
    self.dailyLimit[token] = dailyLimit
    log TokenConfigured(token=token, allowed=allowed, dailyLimit=dailyLimit)


@external
def setOperator(operator: address):
    self._only_owner()
    assert operator != empty(address), "operator is the zero address"
    log OperatorChanged(previous=self.operator, operator=operator)
    self.operator = operator


@external
def pause():
    self._only_owner()
    self.paused = True
    log Paused(by=msg.sender)


@external
def unpause():
    self._only_owner()
    self.paused = False
    log Unpaused(by=msg.sender)


@external
def transferOwnership(newOwner: address):
    self._only_owner()
    self.pendingOwner = newOwner
    log OwnershipTransferStarted(previous=self.owner, pendingOwner=newOwner)


@external
def acceptOwnership():
    assert msg.sender == self.pendingOwner, "not the pending owner"
    log OwnershipTransferred(previous=self.owner, owner=msg.sender)
    self.owner = msg.sender
    self.pendingOwner = empty(address)


@internal
def _only_owner():
    assert msg.sender == self.owner, "not the owner"
