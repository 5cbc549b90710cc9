"""Switch between workspaces, for users who belong to more than one."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from ..workspace import SESSION_KEY, WorkspaceMixin


class SwitchWorkspaceView(WorkspaceMixin, View):
    def post(self, request):
        try:
            workspace = request.user.workspaces.get(pk=int(request.POST.get("workspace", "")))
        except (ValueError, request.user.workspaces.model.DoesNotExist):
            raise Http404("No such workspace") from None
        request.session[SESSION_KEY] = workspace.pk
        target = request.POST.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        return redirect(target)
