"""The product's URLs plus one trivial Django view, the baseline the gateway is measured against.
Served only by the benchmark's own server (DJANGO_SETTINGS_MODULE=bench.settings)."""

from django.http import JsonResponse
from django.urls import path

from openclaw.urls import urlpatterns as product_urlpatterns


def plain(request):
    return JsonResponse({"ok": True, "result": {}})


urlpatterns = [path("bench/plain", plain), *product_urlpatterns]
