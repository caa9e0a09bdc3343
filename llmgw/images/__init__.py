"""The gateway image: its definition and tag (``build``), its base image's signature, and its publication to ECR."""
