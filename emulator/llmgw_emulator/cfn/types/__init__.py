"""CloudFormation types moto 5.2 lacks, one module per service, backed by moto's own service backends.

moto's engine skips a type it has no model for and silently drops every output that refers to it.
Each class here adds one type with the surface moto's own models have (``cloudformation_type``,
``create_/update_/delete_from_cloudformation_json``, ``has_cfn_attr``, ``get_cfn_attribute``).
"""

from . import acm, applicationautoscaling, cloudwatch, ec2, s3, secretsmanager, sns, wafv2

__all__ = ["acm", "applicationautoscaling", "cloudwatch", "ec2", "s3", "secretsmanager", "sns", "wafv2"]
