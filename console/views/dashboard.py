"""The signed-in actor's economics dashboard (staff land on the overview)."""

from django.shortcuts import redirect
from django.views.generic import TemplateView, View

from console.access import SignedInRequiredMixin


class DashboardView(SignedInRequiredMixin, TemplateView):
    template_name = "console/dashboard.html"

    def get(self, request, *args, **kwargs):
        if request.viewer.is_staff and "me" not in request.GET:
            return redirect("console:overview")
        return super().get(request, *args, **kwargs)


class ThresholdView(SignedInRequiredMixin, View):
    def post(self, request):
        return redirect("console:dashboard")


class DailyChartView(SignedInRequiredMixin, View):
    pass
