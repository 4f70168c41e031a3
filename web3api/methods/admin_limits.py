"""web3.admin.getLimits and web3.admin.setLimits (staff): the market-wide limits that bound every
agent token's spend policy (market.selectors.limits says how they apply)."""

from rest_framework import serializers

from market.selectors.limits import limits_view
from market.services.limits import limits_set
from web3api.money import money_field
from web3api.registry import method
from web3api.serializers import Params

STAFF = ["staff only"]
RULE = (
    "A policy above a limit is refused at issue (E_INVALID_ARGUMENT naming the limit). Lowering a limit bounds "
    "existing tokens at once: a token's effective cap is the lower of its own and the market's, computed where the "
    "cap is checked (sessionCap when a session opens or is approved, dailyCap at every spend and in "
    "web3.billing.guard); budgets already locked stay as they are."
)


class LimitValues(serializers.Serializer):
    sessionCap = serializers.CharField(help_text="Most one session of an agent may spend (and lock), a decimal string.")
    dailyCap = serializers.CharField(help_text="Most an agent's delegation may spend in a UTC day, per currency.")


class LimitsResult(LimitValues):
    defaults = LimitValues(help_text="The defaults (WEB3_AGENT_MAX_SESSION_CAP, WEB3_AGENT_MAX_DAILY_CAP).")
    updatedBy = serializers.CharField(source="updated_by", help_text="Who set them last ('' while never set).")
    updatedAt = serializers.DateTimeField(source="updated_at", allow_null=True)

    def to_representation(self, instance):
        row = {**instance.values, "defaults": instance.defaults}
        return super().to_representation({**row, "updated_by": instance.updated_by, "updated_at": instance.updated_at})


class GetLimitsParams(Params):
    pass


@method(
    name="web3.admin.getLimits",
    summary="The market-wide limits on agents' spend policies, with their defaults.",
    group="admin",
    read_only=True,
    auth="staff",
    params=GetLimitsParams,
    result=LimitsResult,
    permissions=STAFF,
    description="Amounts are decimal strings read in the scale of the currency a cap is compared in, as a spend "
    "policy's are. " + RULE,
)
def get_limits(call, params):
    return limits_view()


def _limit_param(help_text: str):
    return money_field(f"{help_text} null: back to the environment's default.", required=False, allow_null=True)


class SetLimitsParams(Params):
    sessionCap = _limit_param("The most a policy's sessionCap may be.")
    dailyCap = _limit_param("The most a policy's dailyCap may be.")


@method(
    name="web3.admin.setLimits",
    summary="Set the market-wide limits on agents' spend policies (audited).",
    group="admin",
    auth="staff",
    params=SetLimitsParams,
    result=LimitsResult,
    unexpressible={
        "sessionCap": "a decimal string above zero (or null)",
        "dailyCap": "a decimal string above zero (or null)",
    },
    risk="medium",
    permissions=STAFF,
    description="Only the limits given change; every change is an audit event (market_limits.set) with the limits "
    "before and after. " + RULE,
    examples=[{"params": {"sessionCap": "500", "dailyCap": None}}],
)
def set_limits(call, params):
    return limits_set(by_actor_id=call.actor_id, changes=dict(params))
