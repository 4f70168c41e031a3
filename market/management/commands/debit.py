from market.management.commands._money_command import MoneyCommand
from market.services.ledger import withdraw


class Command(MoneyCommand):
    help = "Withdrawal: debit an actor's account to the outside (debit <actorId> <amount> <currency>)."
    verb = "debited"

    def move(self, *, actor_id, amount, currency, reason):
        return withdraw(actor_id=actor_id, amount=amount, currency=currency, reason=reason)
