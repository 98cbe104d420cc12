"""Artifacts: list, publish, read, merge."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    OLDEST_FIRST,
    paginate_queryset,
)
from arenas.representations import (
    artifact_dict,
)

from .base import ApiView


class ArtifactsView(ApiView):
    @extend_schema(
        summary="Artifacts",
        operation_id="arenas_artifacts_list",
        description="Without their content, oldest first: your own slot always, other "
        "slots with `can_read_other_slots`. `agent` narrows to one slot.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter("agent", str, OpenApiParameter.QUERY),
            *schema.PAGED,
        ],
        responses={200: schema.ArtifactPage, **schema.read_errors(400, 403, 404)},
        tags=["artifacts"],
    )
    def get(self, request: Request, id: str) -> Response:
        artifacts = self.handle.artifacts(request.query_params.get("agent"))
        return Response(
            paginate_queryset(
                request, artifacts, OLDEST_FIRST, lambda a: artifact_dict(a, with_content=False)
            )
        )

    @schema.arena_write(
        "Publish an artifact",
        "To your own slot (`can_write_own_slot`, arena active); the slot becomes `working`.",
        request=serializers.NewArtifactSerializer,
        responds=schema.ArtifactSerializer,
        tags=["artifacts"],
        operation="publish_artifact",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        artifact = self.handle.publish_artifact(**self.body(serializers.NewArtifactSerializer))
        return Response(artifact_dict(artifact), status=status.HTTP_201_CREATED)


class ArtifactView(ApiView):
    @extend_schema(
        summary="One artifact, with its content",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter(
                "artifact_id", {"type": "string", "format": "uuid"}, OpenApiParameter.PATH
            ),
        ],
        responses={200: schema.ArtifactSerializer, **schema.read_errors(403, 404)},
        tags=["artifacts"],
    )
    def get(self, request: Request, id: str, artifact_id: str) -> Response:
        return Response(artifact_dict(self.handle.artifact(artifact_id)))


class MergeView(ApiView):
    @schema.arena_write(
        "Merge artifacts",
        "`can_merge`, arena active or settling: the artifacts of the named "
        "slots become one `structured_data` artifact in your slot; `metadata.sources` lists "
        "the merged artifact ids.",
        request=serializers.MergeSerializer,
        responds=schema.ArtifactSerializer,
        tags=["artifacts"],
        operation="merge",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        artifact = self.handle.merge(**self.body(serializers.MergeSerializer))
        return Response(artifact_dict(artifact), status=status.HTTP_201_CREATED)
