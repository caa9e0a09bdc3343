"""AWS::ECS::TaskDefinition and ::Service, replacing moto's: tasks that run (ecs_scheduler.py)."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ecs.models import ecs_backends

from ... import cfn_engine, ecs_scheduler


class TaskDefinition(CloudFormationModel):
    """AWS::ECS::TaskDefinition with its task-level settings.

    moto's own model keeps only the family, containers, volumes and memory,
    dropping the CPU size, network mode, Fargate compatibility and both IAM
    roles. Every change registers a new revision, as on AWS, and the replaced
    one is deregistered once the stack update completes; a rollback goes back
    to the revision it replaced rather than registering a copy. Returns moto's
    own task definition object.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-taskdefinition.html
        return "AWS::ECS::TaskDefinition"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "TaskDefinitionArn"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        from moto.core.utils import pascal_to_camelcase, remap_nested_keys

        p = cloudformation_json["Properties"]
        platform = p.get("RuntimePlatform")
        revision = ecs_backends[account_id][region_name].register_task_definition(
            family=p.get("Family", resource_name),
            container_definitions=remap_nested_keys(p.get("ContainerDefinitions", []), pascal_to_camelcase),
            volumes=remap_nested_keys(p.get("Volumes", []), pascal_to_camelcase),
            network_mode=p.get("NetworkMode"),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])],
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=str(p["Cpu"]) if "Cpu" in p else None,
            memory=str(p["Memory"]) if "Memory" in p else None,
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            runtime_platform=remap_nested_keys(platform, pascal_to_camelcase) if platform else None,
        )
        revision.llmgw_properties = json.dumps(p, sort_keys=True, default=str)
        return revision

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        backend = ecs_backends[account_id][region_name]
        wanted = json.dumps(cloudformation_json["Properties"], sort_keys=True, default=str)
        family = backend.task_definitions.get(original_resource.family, {})
        earlier = [
            r
            for r in family.values()
            if r is not original_resource and getattr(r, "llmgw_properties", None) == wanted and r.status == "ACTIVE"
        ]
        revision = (
            earlier[-1]
            if earlier
            else cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        )
        arn = original_resource.arn
        cfn_engine.defer_until_the_update_completes(lambda: backend.deregister_task_definition(arn))
        return revision


class Service(CloudFormationModel):
    """AWS::ECS::Service with its network configuration and load balancers.

    moto's own model drops ``NetworkConfiguration`` and ``LoadBalancers``, so
    a service could not be checked against its subnets, security groups and
    target group. moto's service model has no capacity-provider strategy;
    a strategy on FARGATE or FARGATE_SPOT becomes launch type FARGATE, which
    is what such tasks report on AWS. Returns moto's own service object.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html
        return "AWS::ECS::Service"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ServiceName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Name", "ServiceArn")

    @staticmethod
    def _arguments(p: dict[str, Any]) -> dict[str, Any]:
        providers = {s["CapacityProvider"] for s in p.get("CapacityProviderStrategy", [])}
        fargate = providers and providers <= {"FARGATE", "FARGATE_SPOT"}
        awsvpc = p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration")
        return {
            # Left out, it is 1 for a new service and unchanged on an update (the autoscaler's).
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html
            "desired_count": int(p["DesiredCount"]) if "DesiredCount" in p else None,
            "task_definition_str": p.get("TaskDefinition"),
            "load_balancers": [
                {
                    "targetGroupArn": lb.get("TargetGroupArn"),
                    "containerName": lb.get("ContainerName"),
                    "containerPort": int(lb["ContainerPort"]),
                }
                for lb in p.get("LoadBalancers", [])
            ],
            "launch_type": p.get("LaunchType") or ("FARGATE" if fargate else None),  # moto needs one; reset below
            "platform_version": p.get("PlatformVersion"),
            "propagate_tags": p.get("PropagateTags", "NONE"),
            "tags": [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])],
            "network_configuration": {
                "awsvpcConfiguration": {
                    "subnets": list(awsvpc.get("Subnets", [])),
                    "securityGroups": list(awsvpc.get("SecurityGroups", [])),
                    "assignPublicIp": awsvpc.get("AssignPublicIp", "DISABLED"),
                }
            }
            if awsvpc
            else None,
            "role_arn": p.get("Role"),
        }

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        p = cloudformation_json["Properties"]
        cluster = p.get("Cluster", "default").split("/")[-1]
        arguments = cls._arguments(p)
        arguments["desired_count"] = 1 if arguments["desired_count"] is None else arguments["desired_count"]
        service = ecs_backends[account_id][region_name].create_service(
            cluster, p.get("ServiceName", resource_name), **arguments
        )
        cls._settings(service, p)
        # CloudFormation's handler returns once the service is stable, and fails when its
        # deployment's circuit breaker trips.
        ecs_scheduler.wait_for_deployment(service.arn)
        return service

    @staticmethod
    def _settings(service: Any, p: dict[str, Any]) -> Any:
        """What moto's service model lacks; its API serialiser reads these attribute names."""
        from moto.core.utils import pascal_to_camelcase, remap_nested_keys

        strategy = p.get("CapacityProviderStrategy")
        if strategy:
            service.capacity_provider_strategy = [
                {
                    "capacityProvider": s["CapacityProvider"],
                    "weight": int(s.get("Weight", 0)),
                    "base": int(s.get("Base", 0)),
                }
                for s in strategy
            ]
            service.launch_type = None  # a service with a strategy has no launch type on AWS
            for deployment in service.deployments:
                deployment.pop("launchType", None)
                deployment["capacityProviderStrategy"] = service.capacity_provider_strategy
        configuration = p.get("DeploymentConfiguration")
        if configuration:
            camel = remap_nested_keys(configuration, pascal_to_camelcase)
            for key in ("maximumPercent", "minimumHealthyPercent"):
                if key in camel:
                    camel[key] = int(camel[key])
            breaker = camel.get("deploymentCircuitBreaker")
            if breaker:
                camel["deploymentCircuitBreaker"] = {k: str(v).lower() == "true" for k, v in breaker.items()}
            service.deployment_configuration = camel
        if "HealthCheckGracePeriodSeconds" in p:
            service.health_check_grace_period_seconds = int(p["HealthCheckGracePeriodSeconds"])
        service.enable_ecs_managed_tags = str(p.get("EnableECSManagedTags", False)).lower() == "true"
        return service

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        p = cloudformation_json["Properties"]
        arguments = cls._arguments(p)
        service = ecs_backends[account_id][region_name].update_service(
            {
                "cluster": original_resource.cluster_name,
                "service": original_resource.name,
                "task_definition": arguments.pop("task_definition_str"),
                "desired_count": arguments.pop("desired_count"),
                "load_balancers": arguments["load_balancers"],
                "network_configuration": arguments["network_configuration"],
            }
        )
        cls._settings(service, p)
        ecs_scheduler.wait_for_deployment(service.arn)
        return service

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cluster = cloudformation_json["Properties"].get("Cluster", "default").split("/")[-1]
        backend = ecs_backends[account_id][region_name]
        service = backend.delete_service(cluster, resource_name.split("/")[-1], force=True)
        # CloudFormation waits for the service to drain: its tasks stop before the delete completes.
        ecs_scheduler.wait_until_drained(service.arn)
