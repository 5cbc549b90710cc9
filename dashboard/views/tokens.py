"""API tokens: create (the key is shown once, then only its hash is kept) and revoke."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from ..forms import ApiTokenForm
from ..models import ApiToken, parse_expiry
from ..workspace import WorkspaceMixin

NEW_KEY_SESSION = "dashboard_new_api_key"


class TokenListView(WorkspaceMixin, View):
    def get(self, request, form: ApiTokenForm | None = None, status: int = 200):
        # Shown on the page after the redirect that follows creation, and gone on the next load.
        new_key = request.session.pop(NEW_KEY_SESSION, None)
        tokens = ApiToken.objects.filter(workspace=self.workspace)
        context = {
            "tokens": tokens,
            "form": form or ApiTokenForm(),
            "new_key": new_key,
            "nav": "tokens",
            "api_base": request.build_absolute_uri("/api/"),
        }
        return render(request, "dashboard/tokens.html", context, status=status)

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form, status=400)
        data = form.cleaned_data
        token, key = ApiToken.issue(self.workspace, data["name"], scopes=data["scopes"],
                                    expires_at=parse_expiry(data["expires"]))
        request.session[NEW_KEY_SESSION] = {"name": token.name, "key": key}
        return redirect("dashboard:tokens")


class TokenDeleteView(WorkspaceMixin, View):
    def post(self, request, pk: int):
        token = get_object_or_404(ApiToken, pk=pk, workspace=self.workspace)
        token.delete()
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("dashboard:tokens")
