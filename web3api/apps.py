from django.apps import AppConfig


class Web3ApiConfig(AppConfig):
    name = "web3api"
    verbose_name = "web3 API and identity"

    def ready(self) -> None:
        from web3api import registry

        registry.load_methods()
