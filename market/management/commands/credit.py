from market.management.commands._money_command import MoneyCommand
from market.services.ledger import deposit


class Command(MoneyCommand):
    help = "Deposit: credit an actor's account from outside (credit <actorId> <amount> <currency>)."
    verb = "credited"

    def move(self, *, actor_id, amount, currency, reason):
        return deposit(actor_id=actor_id, amount=amount, currency=currency, reason=reason)
