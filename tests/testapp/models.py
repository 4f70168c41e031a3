from django.db import models


class Counter(models.Model):
    """A test-only effect: each call of test.counter.increment adds to one of these."""

    name = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
