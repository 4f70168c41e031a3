"""One URL pattern per registered method, generated from the registry."""

from django.urls import path

from web3api import gateway, registry, schema

registry.load_methods()


def _view_for(method: registry.Method):
    base = gateway.ReadMethodView if method.read_only else gateway.MethodView
    view_class = type(f"{schema.pascal(method.name)}View", (base,), {"method": method})
    return schema.decorate(view_class, method).as_view()


urlpatterns = [path(m.name, _view_for(m), name=m.name) for m in registry.all_methods()]
urlpatterns.append(path("<path:name>", gateway.unknown_method, name="unknown-method"))
# /api/v1/ itself names no method: the same JSON 404, never Django's HTML page.
urlpatterns.append(path("", gateway.unknown_method, {"name": ""}, name="no-method"))
