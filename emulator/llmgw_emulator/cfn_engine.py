"""Make moto's CloudFormation engine fail and finish the way CloudFormation does.

moto 5.2 skips unknown resource types with a log line, leaves a stack whose
resource failed stuck in ``CREATE_IN_PROGRESS`` behind an HTTP 500, performs
an update when nothing changed, cannot roll a failed update back, leaves a
resource that Refs a replaced one pointing at the old one, forgets a stack
whose delete failed, deletes
``DeletionPolicy: Snapshot`` databases without a snapshot, and ignores
``Rules`` and parameter constraints. Each function below changes one of those
behaviours; :func:`install` applies them all, once, before the server starts.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from moto.cloudformation import models, parsing
from moto.cloudformation.exceptions import ValidationError

from . import cfn_async, cfn_custom_resources, property_support

__all__ = ["UnsupportedResourceTypeError", "install"]

_INSTALLED = False


class UnsupportedResourceTypeError(Exception):
    """A template uses a resource type the emulator cannot create."""


class ResourceFailedError(Exception):
    """One resource failed; carries what CloudFormation reports in its event."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


def _refuse_unsupported_types() -> None:
    original = parsing.resource_class_from_type

    @functools.wraps(original)
    def resource_class_from_type(resource_type: str) -> Any:
        if cfn_custom_resources.is_custom(resource_type):
            return cfn_custom_resources.CustomResource  # moto's own model runs only create, and never waits
        if resource_type not in parsing.NULL_MODELS and resource_type not in parsing.get_model_map():
            raise UnsupportedResourceTypeError(f"{resource_type} is not supported by the local emulator")
        return original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type


def _split_getatt_on_the_first_dot() -> None:
    """``!GetAtt DB.Endpoint.Address`` names attribute ``Endpoint.Address``, not ``Endpoint``."""

    def first_dot(value: Any) -> Any:
        if isinstance(value, list) and len(value) > 2 and all(isinstance(v, str) for v in value):
            return [value[0], ".".join(value[1:])]
        return value

    original_constructor = models.yaml_tag_constructor

    @functools.wraps(original_constructor)
    def yaml_tag_constructor(loader: Any, tag: Any, node: Any) -> Any:
        result = original_constructor(loader, tag, node)
        if "Fn::GetAtt" in result:
            result["Fn::GetAtt"] = first_dot(result["Fn::GetAtt"])
        if "Fn::Condition" in result:
            # ``!Condition Name`` is ``{"Condition": "Name"}``, not a function: moto read it as
            # "Fn::Condition", which no condition evaluates, so ``!And [!Condition A, ...]`` was false.
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-condition.html
            return {"Condition": result["Fn::Condition"]}
        return result

    models.yaml_tag_constructor = yaml_tag_constructor
    original_clean_json = parsing.clean_json

    @functools.wraps(original_clean_json)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
            resource_json = {**resource_json, "Fn::GetAtt": first_dot(resource_json["Fn::GetAtt"])}
        return original_clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json


def _no_value_leaves_a_list() -> None:
    """``!Ref AWS::NoValue`` in a list removes the item; moto left a None in its place.

    So ``- !If [UseCache, {Name: REDIS_HOST, ...}, !Ref AWS::NoValue]`` in a container's
    environment gave ECS a null entry. CloudFormation: "Removes the corresponding resource
    property when specified as a return value in the Fn::If intrinsic function", an item of a
    list included. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
    """
    original = parsing.clean_json

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            items = [(item, parsing.clean_json(item, resources_map)) for item in resource_json]
            # Only an intrinsic can resolve to NoValue; a literal null stays what it was.
            return [value for item, value in items if not (value is None and isinstance(item, dict))]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _find_in_map_keys_are_text() -> None:
    """``Fn::FindInMap``'s keys are text, so a Number parameter names the key ``"512"``; a missing one fails.

    moto resolved a Number parameter to an int and looked the int up in the mapping, whose keys the
    template gives as text, so ``!FindInMap [WorkersPerTask, !Ref TaskCpu, Workers]`` failed with a bare
    ``KeyError: 512``. CloudFormation passes every parameter value to intrinsic functions as a string,
    and fails a key the mapping lacks with "Template error: Unable to get mapping for M::K1::K2".
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-findinmap.html
    """
    original = parsing.clean_json

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
            map_name, *path = resource_json["Fn::FindInMap"]
            keys = [parsing.clean_json(key, resources_map) for key in path]
            keys = [str(k) if isinstance(k, int | float) and not isinstance(k, bool) else k for k in keys]
            try:  # moto's own lookup, given text keys
                return original({"Fn::FindInMap": [map_name, *keys]}, resources_map)
            except (KeyError, TypeError):
                raise ValidationError(
                    message=f"Template error: Unable to get mapping for {'::'.join(map(str, [map_name, *keys]))}"
                ) from None
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _list_parameter_defaults_are_lists() -> None:
    """A CommaDelimitedList (or ``List<...>``) parameter left at its Default is a list, as when it is passed.

    moto split only the values a caller passed, so ``!Join [",", !Ref P]`` over a default joined
    its characters. CloudFormation: a CommaDelimitedList is "an array of literal strings that are
    separated by commas", whether given or defaulted.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    """
    original = parsing.ResourceMap.load_parameters

    def load_parameters(self: parsing.ResourceMap) -> None:
        original(self)
        for name, slot in self._template.get("Parameters", {}).items():
            kind, value = str(slot.get("Type", "")), self.resolved_parameters.get(name)
            if (kind == "CommaDelimitedList" or kind.startswith("List<")) and isinstance(value, str):
                self.resolved_parameters[name] = value.split(",")
                self._parsed_resources[name] = self.resolved_parameters[name]

    parsing.ResourceMap.load_parameters = load_parameters  # type: ignore[method-assign]

    # DescribeStacks gives a list parameter as the text it was given, "a,b"; moto printed Python's list.
    def parameter_list(self: models.Stack) -> list[dict[str, Any]]:
        hidden = self.resource_map.no_echo_parameter_keys
        return [
            {
                "ParameterKey": k,
                "ParameterValue": "****" if k in hidden else ",".join(map(str, v)) if isinstance(v, list) else v,
            }
            for k, v in self.resource_map.resolved_parameters.items()
        ]

    models.Stack.parameter_list = property(parameter_list)  # type: ignore[method-assign,assignment]


def _equals_compares_strings() -> None:
    """``Fn::Equals`` compares values as CloudFormation sees them: a Number parameter is a string.

    moto keeps Number parameters as ints, so ``!Equals [!Ref Count, "0"]``
    was false for Count 0, and a condition meant to leave a property out put
    it in. "When you use the parameter elsewhere in your template (for
    example, by using the Ref intrinsic function), the parameter value
    becomes a string."
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    """
    original = parsing.parse_condition

    def as_text(value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        return str(value) if isinstance(value, (int, float)) else value

    @functools.wraps(original)
    def parse_condition(condition: Any, resources_map: Any, condition_map: dict[str, Any]) -> bool:
        if isinstance(condition, dict) and list(condition) == ["Fn::Equals"]:
            values = [
                condition_map[v["Condition"]]
                if isinstance(v, dict) and "Condition" in v
                else parsing.clean_json(v, resources_map)
                for v in condition["Fn::Equals"]
            ]
            return as_text(values[0]) == as_text(values[1])
        return original(condition, resources_map, condition_map)

    parsing.parse_condition = parse_condition


def _depends_on_holds_for_every_create() -> None:
    """A resource is created after what it DependsOn, however moto reaches it.

    moto creates resources lazily, on the first Ref or GetAtt to them, and
    honours DependsOn only in its own walk; its export check before that walk
    resolves the outputs and so created, say, a database before the log
    groups it DependsOn. CloudFormation orders both kinds of dependency.
    """
    original = parsing.ResourceMap.__getitem__

    def __getitem__(self: parsing.ResourceMap, key: str) -> Any:
        if key not in self._parsed_resources and isinstance(self._resource_json_map, dict):
            body = self._resource_json_map.get(key)
            dependencies = body.get("DependsOn", []) if isinstance(body, dict) else []
            for dependency in [dependencies] if isinstance(dependencies, str) else dependencies:
                if dependency in self._resource_json_map:
                    self[dependency]
        return original(self, key)

    parsing.ResourceMap.__getitem__ = __getitem__


def _name_the_failing_resource() -> None:
    original = parsing.parse_and_create_resource

    @functools.wraps(original)
    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(logical_id, resource_json, *args, **kwargs)
        except ResourceFailedError:
            raise
        except Exception as err:
            raise ResourceFailedError(logical_id, resource_json.get("Type", "?"), _reason(err)) from err

    parsing.parse_and_create_resource = parse_and_create_resource
    original_parse = parsing.parse_resource_and_generate_name

    # Every create and update resolves the resource here first: check the properties as resolved,
    # so one that an Fn::If leaves out (AWS::NoValue) does not count.
    @functools.wraps(original_parse)
    def parse_resource_and_generate_name(logical_id: str, resource_json: dict[str, Any], resources_map: Any) -> Any:
        parsed = original_parse(logical_id, resource_json, resources_map)
        if parsed:
            property_support.check(logical_id, parsed[1])
        return parsed

    parsing.parse_resource_and_generate_name = parse_resource_and_generate_name


def _reason(err: Exception) -> str:
    """What CloudFormation reports for a failed call: the service's own message and error code."""
    message, code = getattr(err, "message", None), getattr(err, "error_type", None)
    if isinstance(message, str) and message and code:
        return f'Resource handler returned message: "{message}" (Error Code: {code})'
    return str(err) or type(err).__name__


def _event(stack: models.Stack, logical_id: str, resource_type: str, status: str, reason: str) -> None:
    stack.events.append(
        models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id="",
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


class _NoOutputs(dict):  # type: ignore[type-arg]
    @property
    def exports(self) -> list[Any]:
        return []


def _drop_exports(backend: models.CloudFormationBackend, stack: models.Stack) -> None:
    # Read the registry rather than stack.exports, which would evaluate the
    # outputs again and so try to create the failed resources once more.
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name)


def _check_parameters(template: str, parameters: dict[str, Any]) -> None:
    """Apply constraints and Rules as CloudFormation does, before anything is created.

    Not a template's ``Metadata: NotAbove``, which only the !check_parameters hook reads.
    """
    from llmgw.parameters import ParameterError, check_parameters, load_template

    try:
        check_parameters(load_template(template), parameters, orders=False)
    except ParameterError as err:
        raise ValidationError(message=str(err)) from err


def _evaluate_outputs(stack: models.Stack) -> None:
    """Resolve every output now, as CloudFormation does, so a bad one fails the create."""
    conditions = stack.resource_map.lazy_condition_map
    for key, output in (stack.template_dict.get("Outputs") or {}).items():
        if "Condition" in output and not conditions[output["Condition"]]:
            continue
        try:
            resolved = stack.output_map[key]
        except ResourceFailedError:
            raise
        except Exception as err:
            raise ResourceFailedError(key, "Output", str(err) or type(err).__name__) from err
        if resolved is None or resolved.value is None:
            # moto drops an output whose attribute it cannot resolve; AWS never does.
            raise ResourceFailedError(key, "Output", "the emulator could not resolve this output's value")


def _roll_back_failed_creates() -> None:
    original = models.CloudFormationBackend.create_stack

    @functools.wraps(original)
    def create_stack(
        self: models.CloudFormationBackend,
        name: str,
        template: str,
        parameters: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> models.Stack:
        _check_parameters(template, parameters)
        try:
            stack = original(self, name, template, parameters, *args, **kwargs)
            _evaluate_outputs(stack)
            return stack
        except ResourceFailedError as failure:
            stack = next(s for s in self.stacks.values() if s.name == name)
            _event(stack, failure.logical_id, failure.resource_type, "CREATE_FAILED", failure.reason)
            stack._add_stack_event(
                "ROLLBACK_IN_PROGRESS",
                resource_status_reason=(
                    f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user."
                ),
            )
            _UPDATE.created = set(stack.resource_map._parsed_resources)  # all of it: this create made it
            try:
                stack.resource_map.delete()
            except Exception as err:
                stack.status = "ROLLBACK_FAILED"
                stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=str(err))
            else:
                stack.status = "ROLLBACK_COMPLETE"
                stack._add_stack_event("ROLLBACK_COMPLETE")
            finally:
                _UPDATE.created = None
            _drop_exports(self, stack)
            # A rolled-back stack has no outputs; evaluating them would try to
            # create the failed resources again.
            stack.output_map = _NoOutputs()
            return stack

    models.CloudFormationBackend.create_stack = create_stack


def _a_failed_nested_stack_fails_its_parent() -> None:
    """An AWS::CloudFormation::Stack whose stack rolled back fails the parent's resource, as on AWS.

    moto returned the rolled-back child as if created, and the parent failed
    later, on an output the child no longer had, naming the wrong thing.
    """
    original = models.Stack.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> models.Stack:
        child = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        timeout = cloudformation_json.get("Properties", {}).get("TimeoutInMinutes")
        child.timeout_in_minutes = int(timeout) if timeout is not None else None  # moto's nested create drops it
        if child.status != "CREATE_COMPLETE":
            rollback = next(
                (e.resource_status_reason for e in child.events if e.resource_status == "ROLLBACK_IN_PROGRESS"), ""
            )
            raise ValueError(f"Embedded stack {child.stack_id} was not successfully created: {rollback}")
        return child

    models.Stack.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


# Resource types whose every update is a replacement with a new physical id: what Refs them must
# be updated too, as CloudFormation updates a service whose task definition got a new revision.
_REPLACED_ON_UPDATE = {"AWS::ECS::TaskDefinition"}
_UPDATE = threading.local()


def defer_until_the_update_completes(cleanup: Any) -> None:
    """Run ``cleanup`` once the current stack update (or its rollback) has completed; drop it if it fails.

    CloudFormation removes a replaced resource's old copy only in its cleanup
    phase, after every resource updated, so a rollback can go back to it.
    """
    pending = getattr(_UPDATE, "cleanups", None)
    if pending is None:
        cleanup()
    else:
        pending.append(cleanup)


def _references(value: Any, names: set[str]) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") in names:
            return True
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and getatt[0] in names:
            return True
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) and sub else sub
        if isinstance(text, str) and any(f"${{{n}}}" in text or f"${{{n}." in text for n in names):
            return True
        return any(_references(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, names) for v in value)
    return False


def _in_dependency_order(names: list[str], resources: dict[str, Any]) -> list[str]:
    """``names`` ordered so that each comes after what it Refs, GetAtts or DependsOn, as CloudFormation updates.

    moto updates in its own order, so a service that DependsOn a resource could be updated first.
    """

    def needs(name: str) -> set[str]:
        body = resources.get(name) if isinstance(resources.get(name), dict) else {}
        depends = body.get("DependsOn", [])
        explicit = {depends} if isinstance(depends, str) else set(depends)
        return {m for m in names if m != name and (m in explicit or _references(body.get("Properties", {}), {m}))}

    template_order = [n for n in resources if n in names] + [n for n in names if n not in resources]
    remaining, ordered = list(template_order), []
    waits = {n: needs(n) for n in remaining}
    while remaining:
        ready = next((n for n in remaining if not waits[n] & set(remaining)), remaining[0])  # a cycle: template order
        ordered.append(ready)
        remaining.remove(ready)
    return ordered


def _update_what_references_a_replacement() -> None:
    """A resource is updated when a parameter it uses changes, and when a resource it Refs is replaced.

    moto modifies only resources whose own JSON changed or that ``Ref`` a
    changed parameter, so a task definition whose image is
    ``!Sub ${RepositoryUri}:${ImageTag}`` kept its old image, and a service
    whose task definition got a new revision kept the old one.
    """
    original = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: parsing.ResourceMap, other_template: dict[str, Any], parameters: Any = None) -> Any:
        actions = original(self, other_template, parameters)
        new = other_template["Resources"]
        # moto sees a parameter only through Ref; a ${Parameter} in Fn::Sub changes the resource too.
        changed = {p for p in (parameters or {}) if self.input_parameters.get(p) != parameters[p]}
        if changed:
            actions["Modify"] += [
                n
                for n in new
                if n in self._resource_json_map and n not in actions["Modify"] and _references(new[n], changed)
            ]
        replaced = {
            n for n in actions["Modify"] if isinstance(new.get(n), dict) and new[n].get("Type") in _REPLACED_ON_UPDATE
        }
        if replaced:
            dependents = [
                n
                for n in new
                if n not in actions["Modify"] and n not in actions["Add"] and _references(new[n], replaced)
            ]
            actions["Modify"] = list(set(actions["Modify"]) | set(dependents))
        actions["Modify"] = _in_dependency_order(actions["Modify"], new)
        return actions

    parsing.ResourceMap.build_resource_diff = build_resource_diff

    original_update = parsing.parse_and_update_resource

    # moto retries a failed update up to five times, which for a service would start a
    # deployment each time; CloudFormation fails the resource once.
    @functools.wraps(original_update)
    def parse_and_update_resource(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        failed = getattr(_UPDATE, "failed", {})
        if logical_id in failed:
            raise failed[logical_id]
        try:
            return original_update(logical_id, resource_json, *args, **kwargs)
        except ResourceFailedError as err:
            failed[logical_id] = err
            raise
        except Exception as err:
            failure = ResourceFailedError(logical_id, resource_json.get("Type", "?"), _reason(err))
            failed[logical_id] = failure
            raise failure from err

    parsing.parse_and_update_resource = parse_and_update_resource


def _roll_back_failed_updates() -> None:
    original = models.CloudFormationBackend.update_stack

    @functools.wraps(original)
    def update_stack(
        self: models.CloudFormationBackend,
        name: str,
        template: str,
        role_arn: Any,
        parameters: list[dict[str, Any]],
        tags: Any,
    ) -> models.Stack:
        stack = self.get_stack(name)
        if str(stack.status).endswith("_IN_PROGRESS") or stack.status in ("UPDATE_ROLLBACK_FAILED", "ROLLBACK_FAILED"):
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
        same_tags = tags is None or dict(tags) == dict(stack.tags or {})
        if stack.has_template(template) and resolved == stack.parameters and same_tags:
            raise ValidationError(message="No updates are to be performed.")
        _check_parameters(template, resolved)
        previous_template, previous_parameters = stack.template, dict(stack.parameters)
        stack.llmgw_outputs_before = stack.outputs
        stack.status = "UPDATE_IN_PROGRESS"
        cfn_async.began(stack.stack_id)
        _UPDATE.cleanups, _UPDATE.failed = [], {}
        _UPDATE.before = set(stack.resource_map._parsed_resources)
        try:
            try:
                result = original(self, name, template, role_arn, parameters, tags)
            except Exception as err:
                _roll_back(stack, err, previous_template, previous_parameters)
                return stack
            if _UPDATE.cleanups:
                # moto said UPDATE_COMPLETE already; on AWS that comes after the cleanup phase.
                if stack.events and stack.events[-1].resource_status == "UPDATE_COMPLETE":
                    stack.events.pop()
                stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
                stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
                _clean_up()
                stack.status = "UPDATE_COMPLETE"
                stack._add_stack_event("UPDATE_COMPLETE")
            return result
        finally:
            _UPDATE.cleanups = _UPDATE.failed = _UPDATE.before = _UPDATE.created = None

    models.CloudFormationBackend.update_stack = update_stack


def _clean_up() -> None:
    for cleanup in _UPDATE.cleanups or []:
        try:
            cleanup()
        except Exception:
            continue


def _roll_back(stack: models.Stack, err: Exception, template: str, parameters: dict[str, Any]) -> None:
    """CloudFormation's update rollback: the previous template and parameters applied again.

    moto applies an update in place, so the rollback is one more update, back
    to what was there; replaced resources are gone back to, not made again
    (see ``defer_until_the_update_completes``). If that fails too, the stack is
    UPDATE_ROLLBACK_FAILED, as on AWS.
    """
    if isinstance(err, ResourceFailedError):
        _event(stack, err.logical_id, err.resource_type, "UPDATE_FAILED", err.reason)
        reason = f"The following resource(s) failed to update: [{err.logical_id}]. "
    else:
        reason = str(err) or type(err).__name__
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    _UPDATE.cleanups, _UPDATE.failed = [], {}
    _UPDATE.created = set(stack.resource_map._parsed_resources) - (getattr(_UPDATE, "before", None) or set())
    try:
        stack.template = template
        stack._parse_template()
        stack.resource_map.update(stack.template_dict, parameters)
        stack.output_map = stack._create_output_map()
        stack.parameters = parameters
    except Exception as again:
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event(
            "UPDATE_ROLLBACK_FAILED",
            resource_status_reason=_reason(again) if not isinstance(again, ResourceFailedError) else again.reason,
        )
        return
    stack.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    _clean_up()
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def _is_already_gone(err: Exception) -> bool:
    code = str(getattr(err, "error_type", "")) + type(err).__name__
    return "NotFound" in code or "does not exist" in str(err)


def _delete_like_cloudformation() -> None:
    """Snapshot databases whose policy says so, keep what DeletionPolicy keeps, count what is gone as deleted.

    ``Retain`` keeps a resource whenever it leaves the stack: a stack delete, an update that
    removes it, and the rollback of the update or create that made it (which is why
    ``RetainExceptOnCreate`` exists). ``RetainExceptOnCreate`` keeps it too, except when the
    operation being rolled back created it.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html

    CloudFormation deletes children before parents; moto deletes in any
    order and retries, so a child whose parent took it along (a route with
    its table, a rule with its listener) must not fail the stack delete.
    """
    original = parsing.ResourceMap._delete_resource

    @functools.wraps(original)
    def _delete_resource(self: parsing.ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        policy = resource_json.get("DeletionPolicy")
        if policy == "Retain":
            return  # also when an update, or its rollback, removes it: the resource stays, orphaned
        if policy == "RetainExceptOnCreate":
            logical = next((k for k, v in self._parsed_resources.items() if v is parsed_resource), None)
            if logical not in (getattr(_UPDATE, "created", None) or set()):
                return  # kept, unless the operation being rolled back created it
        if resource_json.get("Type") == "AWS::RDS::DBInstance" and resource_json.get("DeletionPolicy") == "Snapshot":
            from moto.rds.models import rds_backends

            identifier = parsed_resource.db_instance_identifier
            rds = rds_backends[self._account_id][self._region_name]
            if rds.databases[identifier].deletion_protection:
                raise ValidationError(message=f"DB instance {identifier} has deletion protection enabled")
            rds.create_db_snapshot(identifier, f"{identifier}-final-{int(time.time())}", snapshot_type="manual")
        try:
            original(self, parsed_resource, resource_json)
        except Exception as err:
            if not _is_already_gone(err):
                raise

    parsing.ResourceMap._delete_resource = _delete_resource

    def delete(self: parsing.ResourceMap) -> None:
        """moto's stack delete, in reverse dependency order: what refers to a resource goes before it.

        A custom resource's Delete needs its function, which the same stack may hold.
        """
        remaining = [k for k, v in self._resource_json_map.items() if v.get("DeletionPolicy") != "Retain"]
        last_exception: Exception | None = None
        while remaining:
            progressed = False
            for logical_id in reversed(_in_dependency_order(remaining, self._resource_json_map)):
                parsed_resource = self._parsed_resources.get(logical_id)
                try:
                    if not isinstance(parsed_resource, str) and parsed_resource is not None:
                        self._delete_resource(parsed_resource, self._resource_json_map[logical_id])
                        self._parsed_resources.pop(logical_id)
                except Exception as err:  # a dependency violation: try again in the next pass
                    last_exception = err
                else:
                    remaining.remove(logical_id)
                    progressed = True
            if not progressed:
                raise last_exception or RuntimeError(f"could not delete {remaining}")

    parsing.ResourceMap.delete = delete  # type: ignore[method-assign]


def _keep_stacks_whose_delete_failed() -> None:
    def delete_stack(self: models.CloudFormationBackend, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None
        )
        if stack is None:
            return  # deleting a stack that does not exist succeeds, as on AWS
        if stack.enable_termination_protection:
            raise ValidationError(
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
        if stack.status == "DELETE_IN_PROGRESS":
            return  # deleting a stack that is being deleted succeeds, as on AWS
        if str(stack.status).endswith("_IN_PROGRESS"):
            # AWS cancels a create in progress and deletes; the emulator cannot interrupt one, so it says so.
            raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while in status {stack.status}")
        stack.status = "DELETE_IN_PROGRESS"
        cfn_async.began(stack.stack_id)
        try:
            stack.delete()
        except Exception as err:
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=str(err) or type(err).__name__)
            return
        self.stacks.pop(stack.stack_id, None)
        self.deleted_stacks[stack.stack_id] = stack
        _drop_exports(self, stack)

    models.CloudFormationBackend.delete_stack = delete_stack


def _termination_protection_api() -> None:
    """UpdateTerminationProtection, which moto 5.2 lacks; DeleteStack above enforces it."""
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
        return ActionResult({"StackId": stack.stack_id})

    CloudFormationResponse.update_termination_protection = update_termination_protection  # type: ignore[attr-defined]


def install() -> None:
    """Apply every behaviour above to moto's CloudFormation engine. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    _refuse_unsupported_types()
    _equals_compares_strings()
    _list_parameter_defaults_are_lists()
    _find_in_map_keys_are_text()
    _depends_on_holds_for_every_create()
    _split_getatt_on_the_first_dot()
    _no_value_leaves_a_list()
    _name_the_failing_resource()
    _roll_back_failed_creates()
    _a_failed_nested_stack_fails_its_parent()
    _update_what_references_a_replacement()
    _roll_back_failed_updates()
    _delete_like_cloudformation()
    _keep_stacks_whose_delete_failed()
    _termination_protection_api()
    _INSTALLED = True
