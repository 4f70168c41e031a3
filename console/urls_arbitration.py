"""Arbitrators' URLs (included by console/urls.py under /console/)."""

urlpatterns: list = []
