"""`/`: what the market is, live figures, and the ways in."""

from django.views.generic import TemplateView

from market.selectors.economics import market_figures


class LandingView(TemplateView):
    template_name = "console/landing.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "figures": market_figures()}
