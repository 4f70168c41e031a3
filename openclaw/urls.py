from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from console.views.errors import forbidden
from console.views.landing import LandingView
from web3api import pages

urlpatterns = [
    path("api/v1/", include("web3api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", pages.healthz, name="healthz"),
    path("metrics", pages.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
    path("", LandingView.as_view(), name="landing"),
]

handler403 = forbidden
