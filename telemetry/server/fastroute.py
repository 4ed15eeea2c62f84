"""A direct route for the hot JSON endpoints (``track_*``): one pydantic pass, no dependency solver.

FastAPI's generic route handler is most of what a tracked event costs over a bare endpoint (figures in
``bench/README.md``): it re-reads and re-parses the body, parses the Content-Type with ``email.message``,
builds an endpoint context for error messages, and runs the dependency solver for three parameters. The
tracking endpoints need none of that generality: one JSON body model, the service, and maybe the token.
:class:`JsonRoute` serves exactly that shape:

* the body was parsed and checked once already (:mod:`telemetry.server.limits`), and is validated with one
  ``model_validate`` call; errors are raised as FastAPI's own ``RequestValidationError`` with the same
  ``("body", ...)`` locations, so clients get the same 422 as from any other route;
* the token check and the service lookup are the very functions the ``Depends`` of the route name;
* the result is serialized by its pydantic model straight to JSON bytes.

The route is still an ``APIRoute``: the OpenAPI schema, the dependency declarations and the embedding
story (``app.include_router(router)``, body checks by :class:`CheckedRoute`) are unchanged. A route whose
signature is not that shape is a configuration error, raised when the router is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from telemetry.server.deps import get_service, get_token, require_token
from telemetry.server.limits import JSON_TYPE, SCOPE_BODY, SCOPE_JSON, CheckedRoute, RequestProblem, checked_request
from telemetry.server.security import check_token

_MISSING_BODY: Final = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]


class JsonRoute(CheckedRoute):
    """An ``APIRoute`` for ``async def endpoint(body: SomeModel, service: Service) -> OtherModel``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        body_model, body_name, service_name, needs_token = self._shape()
        endpoint: Callable[..., Awaitable[BaseModel]] = self.endpoint
        status_code = self.status_code or 200

        async def handle(request: Request) -> Response:
            try:
                request = await checked_request(request, self.limits)
            except RequestProblem as problem:
                return problem.response()
            if needs_token:
                check_token(get_token(request), request)
            body = request.scope.get(SCOPE_BODY)
            if not body:
                raise RequestValidationError(_MISSING_BODY, body=None)
            data = request.scope.get(SCOPE_JSON)
            try:
                value = body_model.model_validate(data)
            except ValidationError as exc:
                errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
                raise RequestValidationError(errors, body=data) from None
            result = await endpoint(**{body_name: value, service_name: await get_service(request)})
            return Response(result.__pydantic_serializer__.to_json(result), status_code, media_type=JSON_TYPE)

        return handle

    def _shape(self) -> tuple[type[BaseModel], str, str, bool]:
        """(body model, its parameter name, the service parameter's name, whether the token is needed)."""
        dependant = self.dependant
        calls = [sub.call for sub in dependant.dependencies]
        services = [sub for sub in dependant.dependencies if sub.call is get_service and sub.name]
        body = dependant.body_params
        model = body[0].field_info.annotation if len(body) == 1 else None
        ok = (
            isinstance(model, type)
            and issubclass(model, BaseModel)
            and len(services) == 1
            and set(calls) <= {get_service, require_token}
            and not (dependant.path_params or dependant.query_params or dependant.header_params)
            and not (dependant.cookie_params or dependant.request_param_name or dependant.response_param_name)
        )
        if not ok or not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"JsonRoute {self.path}: the endpoint must take one body model and the service only")
        service_name = services[0].name
        assert service_name is not None
        return model, body[0].name, service_name, require_token in calls
