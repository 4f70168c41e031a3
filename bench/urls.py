"""The product's URLs plus the trivial views the benchmarks measure against: a plain JSON view
(the gateway's baseline) and a console page with no data (the console's). Served only by the
benchmarks (DJANGO_SETTINGS_MODULE=bench.settings)."""

from functools import cache

from django.http import JsonResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from openclaw.urls import urlpatterns as product_urlpatterns


def plain(request):
    return JsonResponse({"ok": True, "result": {}})


TRIVIAL = (
    '{% extends "console/base.html" %}{% block title %}Trivial{% endblock %}'
    "{% block content %}<h1>{{ text }}</h1>{% endblock %}"
)


@cache
def _trivial():
    return engines["django"].from_string(TRIVIAL)


class TrivialConsolePage(SignedInRequiredMixin, TemplateView):
    """The console benchmark's baseline: a console page as every other is served (the same
    middleware, the signed-in viewer, base.html with its navigation), reading no market data."""

    def render_to_response(self, context, **kwargs):
        return TemplateResponse(self.request, _trivial(), context)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "text": "a trivial console page"}


urlpatterns = [
    path("bench/plain", plain),
    path("bench/template", TrivialConsolePage.as_view()),
    *product_urlpatterns,
]
