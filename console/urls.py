"""The console's URLs: stable, bookmarkable (README "Console"). Actors' pages here; staff pages in
urls_staff.py, arbitrators' in urls_arbitration.py."""

from django.urls import include, path

from console.views import auth, dashboard, disputes, funds, leases, ledger, resources, sessions, tasks

app_name = "console"

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("signin/", auth.SignInView.as_view(), name="signin"),
    path("signout/", auth.SignOutView.as_view(), name="signout"),
    path("settings/threshold/", dashboard.ThresholdView.as_view(), name="threshold"),
    path("charts/daily.svg", dashboard.DailyChartView.as_view(), name="chart-daily"),
    path("resources/", resources.ResourceListView.as_view(), name="resources"),
    path("resources/new/", resources.ResourceCreateView.as_view(), name="resource-new"),
    path("resources/test-call/", resources.TestCallView.as_view(), name="resource-test-call"),
    path("resources/<str:resource_id>/", resources.ResourceDetailView.as_view(), name="resource"),
    path("leases/", leases.LeaseListView.as_view(), name="leases"),
    path("leases/<str:lease_id>/", leases.LeaseDetailView.as_view(), name="lease"),
    path("ledger/", ledger.LedgerView.as_view(), name="ledger"),
    path("funds/", funds.FundsView.as_view(), name="funds"),
    path("agents/", sessions.AgentTokensView.as_view(), name="agent-tokens"),
    path("agents/<str:token_id>/revoke/", sessions.AgentTokenRevokeView.as_view(), name="agent-token-revoke"),
    path("sessions/", sessions.SessionListView.as_view(), name="sessions"),
    path("sessions/<str:session_id>/", sessions.SessionDetailView.as_view(), name="session"),
    path("sessions/<str:session_id>/decide/", sessions.SessionDecideView.as_view(), name="session-decide"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("tasks/new/", tasks.TaskCreateView.as_view(), name="task-new"),
    path("tasks/<str:task_id>/", tasks.TaskDetailView.as_view(), name="task"),
    path("disputes/", disputes.DisputeListView.as_view(), name="disputes"),
    path("disputes/<str:dispute_id>/", disputes.DisputeDetailView.as_view(), name="dispute"),
    path("", include("console.urls_staff")),
    path("", include("console.urls_arbitration")),
]
