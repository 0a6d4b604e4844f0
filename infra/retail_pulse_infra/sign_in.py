"""Sign-in in front of the Function App: App Service Authentication (Easy Auth) with Microsoft Entra ID.

Every request needs a signed-in Entra ID user or a bearer token for this app's
registration; a browser without a session is redirected to the Entra ID sign-in.
Only ``/api/health`` is excluded (it reveals no business figure). The app itself
still checks the principal App Service passes on (``X-MS-CLIENT-PRINCIPAL``) and
its app roles and scopes (``shared.access``), so a route that slipped past this
configuration would answer 401, not data.

No client secret: sign-in uses the OpenID Connect ID token of the app registration
(enable "ID tokens" on it, see docs/deploy.md), which carries the ``roles`` and
``groups`` claims the app needs; no secret to store or rotate. The token store is
off (the app never calls Graph on the user's behalf).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
from pulumi_azure_native import web

from .placement import Placement

__all__ = ["ANONYMOUS_PATHS", "SignIn", "SignInArgs"]

ANONYMOUS_PATHS: Final = ("/api/health",)
"""The one route App Service lets through without sign-in."""


@dataclass(frozen=True)
class SignInArgs:
    placement: Placement
    app_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    client_id: str
    """Application (client) id of the Entra app registration that defines the app roles."""


class SignIn(pulumi.ComponentResource):
    """The site's ``authsettingsV2``: Entra ID required everywhere but health."""

    settings: web.WebAppAuthSettingsV2

    def __init__(self, name: str, args: SignInArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:SignIn", name, None, opts)
        place = args.placement
        self.settings = web.WebAppAuthSettingsV2(
            "function-app-sign-in",
            name=args.app_name,
            resource_group_name=place.resource_group_name,
            platform=web.AuthPlatformArgs(enabled=True, runtime_version="~1"),
            global_validation=web.GlobalValidationArgs(
                require_authentication=True,
                unauthenticated_client_action=web.UnauthenticatedClientActionV2.REDIRECT_TO_LOGIN_PAGE,
                redirect_to_provider="azureactivedirectory",
                excluded_paths=list(ANONYMOUS_PATHS),
            ),
            identity_providers=web.IdentityProvidersArgs(
                azure_active_directory=web.AzureActiveDirectoryArgs(
                    enabled=True,
                    registration=web.AzureActiveDirectoryRegistrationArgs(
                        client_id=args.client_id,
                        open_id_issuer=pulumi.Output.concat(
                            "https://login.microsoftonline.com/", args.tenant_id, "/v2.0"
                        ),
                    ),
                    validation=web.AzureActiveDirectoryValidationArgs(
                        allowed_audiences=[f"api://{args.client_id}", args.client_id],
                    ),
                )
            ),
            login=web.LoginArgs(
                token_store=web.TokenStoreArgs(enabled=False),
                preserve_url_fragments_for_logins=True,
            ),
            http_settings=web.HttpSettingsArgs(require_https=True),
            opts=place.child(self),
        )
        self.register_outputs({})
