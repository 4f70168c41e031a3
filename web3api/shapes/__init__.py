"""Output shapes: one DRF serializer per protocol object (API.md's objects), built from model
instances with `source=` and AmountOut, used by the methods (their result serializers), the console
and the schema alike. One module per aggregate."""
