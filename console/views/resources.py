"""Resources: discover, onboard (publish with a Test call), a resource's page."""

from django.views.generic import TemplateView, View

from console.access import SignedInRequiredMixin


class ResourceListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/resources/list.html"


class ResourceCreateView(SignedInRequiredMixin, TemplateView):
    template_name = "console/resources/new.html"


class TestCallView(SignedInRequiredMixin, View):
    pass


class ResourceDetailView(SignedInRequiredMixin, TemplateView):
    template_name = "console/resources/detail.html"
