"""The one place that decides which workspace a request acts on. Every dashboard view goes through it."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from calls.models import Workspace

SESSION_KEY = "dashboard_workspace_id"


def current_workspace(request: HttpRequest) -> Workspace:
    """The workspace chosen in this session if the user still belongs to it, else their first one.

    Raises PermissionDenied for a user who belongs to no workspace (a 403 page, not someone else's data).
    """
    memberships = request.user.workspaces.order_by("pk")
    chosen = request.session.get(SESSION_KEY)
    workspace = (memberships.filter(pk=chosen).first() if chosen else None) or memberships.first()
    if workspace is None:
        raise PermissionDenied("Your account is not a member of any workspace. Ask an administrator to add you.")
    return workspace


class WorkspaceMixin(LoginRequiredMixin):
    """Login required, and `self.workspace` set before the handler runs; querysets must filter on it."""

    workspace: Workspace

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.workspace = current_workspace(request)
        request.workspace = self.workspace  # for the base template's workspace switcher
        return super().dispatch(request, *args, **kwargs)
