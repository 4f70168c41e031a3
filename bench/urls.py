"""The product's URLs plus one trivial Django view, the baseline the gateway is measured against.
Served only by the benchmark's own server (DJANGO_SETTINGS_MODULE=bench.settings)."""

from django.http import HttpResponse, JsonResponse
from django.template import Context, Template
from django.urls import path

from openclaw.urls import urlpatterns as product_urlpatterns


def plain(request):
    return JsonResponse({"ok": True, "result": {}})


TRIVIAL = Template("<!doctype html><title>{{ title }}</title><p>{{ text }}</p>")


def trivial_template(request):
    """The console benchmark's baseline: a template rendered, nothing read."""
    return HttpResponse(TRIVIAL.render(Context({"title": "trivial", "text": "a trivial template view"})))


urlpatterns = [path("bench/plain", plain), path("bench/template", trivial_template), *product_urlpatterns]
