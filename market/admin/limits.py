"""Admin of the market-wide limits: edited through the limits service (audited), never deleted."""

from __future__ import annotations

from django.contrib import admin, messages

from market.admin.base import admin_actor
from market.errors import MarketError
from market.models import MarketLimits
from market.selectors.limits import LIMITS
from market.services.limits import limits_set


@admin.register(MarketLimits)
class MarketLimitsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "max_session_cap", "max_daily_cap", "updated_by", "updated_at")
    fields = ("max_session_cap", "max_daily_cap", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def has_add_permission(self, request):
        return not MarketLimits.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False  # set a limit to empty instead: it goes back to its default

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data.get(column) or None for name, (column, _) in LIMITS.items()}
        try:
            limits_set(by_actor_id=admin_actor(request), changes=changes)
        except MarketError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        obj.pk = 1
