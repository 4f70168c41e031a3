"""Staff URLs (included by console/urls.py under /console/)."""

from django.urls import path

from console.views import staff, staff_actors, staff_alerts, staff_limits

urlpatterns = [
    path("overview/", staff.OverviewView.as_view(), name="overview"),
    path("alerts/", staff_alerts.AlertsView.as_view(), name="alerts"),
    path("alerts/rule/", staff_alerts.RuleEditView.as_view(), name="alert-rule"),
    path("alerts/silence/", staff_alerts.SilenceView.as_view(), name="alert-silence"),
    path("alerts/acknowledge/", staff_alerts.AcknowledgeView.as_view(), name="alert-acknowledge"),
    path("actors/", staff_actors.ActorsView.as_view(), name="actors"),
    path("actors/credit/", staff_actors.CreditView.as_view(), name="actor-credit"),
    path("actors/role/", staff_actors.RoleView.as_view(), name="actor-role"),
    path("staff/resources/", staff.StaffResourcesView.as_view(), name="staff-resources"),
    path("staff/leases/", staff.StaffLeasesView.as_view(), name="staff-leases"),
    path("staff/ledger/", staff.StaffLedgerView.as_view(), name="staff-ledger"),
    path("staff/limits/", staff_limits.LimitsView.as_view(), name="staff-limits"),
    path("staff/sweeps/retry/", staff.RetrySweepView.as_view(), name="staff-sweep-retry"),
]
