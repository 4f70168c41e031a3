"""Staff URLs (included by console/urls.py under /console/)."""

from django.urls import path

from console.views import staff

urlpatterns = [
    path("overview/", staff.OverviewView.as_view(), name="overview"),
    path("alerts/", staff.AlertsView.as_view(), name="alerts"),
    path("actors/", staff.ActorsView.as_view(), name="actors"),
]
