"""Arbitrators' URLs (included by console/urls.py under /console/)."""

from django.urls import path

from console.views import arbitration

urlpatterns = [
    path("arbitration/", arbitration.ArbitrationListView.as_view(), name="arbitration"),
    path("arbitration/<str:dispute_id>/", arbitration.WorkspaceView.as_view(), name="arbitration-dispute"),
    path("arbitration/<str:dispute_id>/split/", arbitration.SplitView.as_view(), name="arbitration-split"),
    path("arbitration/<str:dispute_id>/rule/", arbitration.RuleView.as_view(), name="arbitration-rule"),
]
