//! The operator's admin API on `idv serve` (`/admin/v1/…`, behind its own bearer token, never a
//! tenant credential): tenants created, listed, shown, rotated, disabled, enabled, deleted and
//! given retention periods; reviewers created, listed and disabled; the operator's audit
//! trail; a retention sweep on demand.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use idv_core::accounts::{
    self, NewReviewer, NewTenant, ReviewerSummary, TenantSummary, TenantView,
};
use idv_core::audit::{self, AuditPage};
use idv_core::retention::{self, PolicyChange, SweepReport};
use idv_core::tenants::{self, DeletedTenant};
use idv_core::{ErrorCode, Services};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::body::JsonBody;
use crate::error::ApiError;

/// The admin routes, each with its OpenAPI operation (the token check is the caller's layer).
pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(show_tenant, delete_tenant))
        .routes(routes!(disable_tenant))
        .routes(routes!(enable_tenant))
        .routes(routes!(set_retention))
        .routes(routes!(rotate))
        .routes(routes!(sweep))
        .routes(routes!(operator_audit))
        .routes(routes!(create_reviewer, list_reviewers))
        .routes(routes!(disable_reviewer))
}

/// `POST /admin/v1/tenants` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantRequest {
    /// 1–100 characters.
    name: String,
    /// The tenant's default callback URL (https).
    callback_url: Option<String>,
}

/// A name an operator gives: 1–100 characters, no control characters.
fn check_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "name: 1 to 100 characters, no control characters",
        ));
    }
    Ok(name)
}

/// `POST /admin/v1/tenants`: a tenant with fresh credentials of every dialect (shown once).
#[utoipa::path(post, operation_id = "admin_create_tenant", path = "/admin/v1/tenants", tag = "Admin", security(("admin_token" = [])), request_body = NewTenantRequest, responses((status = 201, description = "Created; the credentials are shown once", body = NewTenant)))]
pub async fn create_tenant(
    State(s): State<Services>,
    JsonBody(req): JsonBody<NewTenantRequest>,
) -> Result<(StatusCode, Json<NewTenant>), ApiError> {
    let name = check_name(&req.name)?;
    idv_core::callbacks::check_requested(
        s.config.allow_private_callbacks,
        req.callback_url.as_deref(),
    )
    .await?;
    let t = accounts::create_tenant(s.records.as_ref(), name, req.callback_url.as_deref()).await?;
    tracing::info!(tenant = %t.tenant, "tenant created (admin API)");
    Ok((StatusCode::CREATED, Json(t)))
}

/// `GET /admin/v1/tenants` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantSummary>,
}

/// `GET /admin/v1/tenants`: every tenant, without secrets.
#[utoipa::path(get, operation_id = "admin_list_tenants", path = "/admin/v1/tenants", tag = "Admin", security(("admin_token" = [])), responses((status = 200, description = "Every tenant", body = TenantList)))]
pub async fn list_tenants(State(s): State<Services>) -> Result<Json<TenantList>, ApiError> {
    let tenants = accounts::tenant_list(s.records.as_ref()).await?;
    Ok(Json(TenantList { tenants }))
}

/// `GET /admin/v1/tenants/{id}`: a tenant with its retention periods.
#[utoipa::path(get, operation_id = "admin_show_tenant", path = "/admin/v1/tenants/{id}", tag = "Admin", security(("admin_token" = [])), params(("id" = String, Path)), responses((status = 200, description = "The tenant", body = TenantView)))]
pub async fn show_tenant(
    State(s): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    Ok(Json(accounts::tenant_view(s.records.as_ref(), &id).await?))
}

/// `PUT /admin/v1/tenants/{id}/retention`: new retention periods (what is not given stays).
#[utoipa::path(put, operation_id = "admin_set_retention", path = "/admin/v1/tenants/{id}/retention", tag = "Admin", security(("admin_token" = [])), params(("id" = String, Path)), request_body = PolicyChange, responses((status = 200, description = "The tenant as changed", body = TenantView)))]
pub async fn set_retention(
    State(s): State<Services>,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<PolicyChange>,
) -> Result<Json<TenantView>, ApiError> {
    retention::set_policy(s.records.as_ref(), &id, &change).await?;
    Ok(Json(accounts::tenant_view(s.records.as_ref(), &id).await?))
}

/// `POST /admin/v1/tenants/{id}/rotate`: new secrets for the tenant's API credentials (the old
/// ones stop at once on this server).
#[utoipa::path(post, operation_id = "admin_rotate_credentials", path = "/admin/v1/tenants/{id}/rotate", tag = "Admin", security(("admin_token" = [])), params(("id" = String, Path)), responses((status = 200, description = "The new credentials, shown once", body = NewTenant)))]
pub async fn rotate(
    State(s): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<NewTenant>, ApiError> {
    let t =
        accounts::rotate_credentials_in(s.records.as_ref(), &id, Some(s.verified.as_ref())).await?;
    tracing::info!(tenant = %t.tenant, "credentials rotated (admin API)");
    Ok(Json(t))
}

/// `GET /admin/v1/audit`: the operator's audit trail (tenant deletions), in `GET /v1/audit`'s
/// shape.
#[utoipa::path(get, operation_id = "admin_audit", path = "/admin/v1/audit", tag = "Admin", security(("admin_token" = [])), responses((status = 200, description = "The operator's trail", body = AuditPage)))]
pub async fn operator_audit(State(s): State<Services>) -> Result<Json<AuditPage>, ApiError> {
    let entries = audit::entries(s.records.as_ref(), audit::OPERATOR).await?;
    Ok(Json(AuditPage {
        entries,
        next: None,
    }))
}

/// `POST /admin/v1/sweep`: one retention sweep now.
#[utoipa::path(post, operation_id = "admin_sweep", path = "/admin/v1/sweep", tag = "Admin", security(("admin_token" = [])), responses((status = 200, description = "What the sweep did", body = SweepReport)))]
pub async fn sweep(State(s): State<Services>) -> Result<Json<SweepReport>, ApiError> {
    Ok(Json(retention::sweep(&s, idv_store::now_ms()).await?))
}

/// `POST /admin/v1/tenants/{id}/disable`: every credential of the tenant refused at once.
#[utoipa::path(post, operation_id = "admin_disable_tenant", path = "/admin/v1/tenants/{id}/disable", tag = "Admin", security(("admin_token" = [])), params(("id" = String, Path)), responses((status = 200, description = "The tenant as changed", body = TenantView)))]
pub async fn disable_tenant(
    State(s): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    set_disabled(&s, &id, true).await
}

/// `POST /admin/v1/tenants/{id}/enable`.
#[utoipa::path(post, operation_id = "admin_enable_tenant", path = "/admin/v1/tenants/{id}/enable", tag = "Admin", security(("admin_token" = [])), params(("id" = String, Path)), responses((status = 200, description = "The tenant as changed", body = TenantView)))]
pub async fn enable_tenant(
    State(s): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    set_disabled(&s, &id, false).await
}

async fn set_disabled(
    s: &Services,
    id: &str,
    disabled: bool,
) -> Result<Json<TenantView>, ApiError> {
    tenants::set_disabled(s.records.as_ref(), id, disabled).await?;
    // Refused (or accepted again) from the next request on.
    s.verified.forget_tenant(id);
    Ok(Json(accounts::tenant_view(s.records.as_ref(), id).await?))
}

/// `DELETE /admin/v1/tenants/{id}`: a disabled tenant and all its data.
#[utoipa::path(delete, operation_id = "admin_delete_tenant", path = "/admin/v1/tenants/{id}", tag = "Admin", security(("admin_token" = [])), params(("id" = String, Path)), responses((status = 200, description = "What was removed", body = DeletedTenant)))]
pub async fn delete_tenant(
    State(s): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<DeletedTenant>, ApiError> {
    let deleted = tenants::delete(s.records.as_ref(), s.blobs.as_ref(), &s.dialects, &id).await?;
    s.verified.forget_tenant(&id);
    Ok(Json(deleted))
}

/// `POST /admin/v1/reviewers` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReviewerRequest {
    tenant: String,
    /// 1–100 characters.
    name: String,
}

/// `POST /admin/v1/reviewers`: a reviewer of a tenant (the password is shown once).
#[utoipa::path(post, operation_id = "admin_create_reviewer", path = "/admin/v1/reviewers", tag = "Admin", security(("admin_token" = [])), request_body = NewReviewerRequest, responses((status = 201, description = "Created; the password is shown once", body = NewReviewer)))]
pub async fn create_reviewer(
    State(s): State<Services>,
    JsonBody(req): JsonBody<NewReviewerRequest>,
) -> Result<(StatusCode, Json<NewReviewer>), ApiError> {
    let name = check_name(&req.name)?;
    let r = accounts::create_reviewer_in(s.records.as_ref(), &req.tenant, name).await?;
    tracing::info!(tenant = %r.tenant, "reviewer created (admin API)");
    Ok((StatusCode::CREATED, Json(r)))
}

/// `GET /admin/v1/reviewers` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewersQuery {
    tenant: String,
}

/// `GET /admin/v1/reviewers` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewerList {
    pub reviewers: Vec<ReviewerSummary>,
}

/// `GET /admin/v1/reviewers?tenant=…`: a tenant's reviewers.
#[utoipa::path(get, operation_id = "admin_list_reviewers", path = "/admin/v1/reviewers", tag = "Admin", security(("admin_token" = [])), params(ReviewersQuery), responses((status = 200, description = "The tenant's reviewers", body = ReviewerList)))]
pub async fn list_reviewers(
    State(s): State<Services>,
    Query(q): Query<ReviewersQuery>,
) -> Result<Json<ReviewerList>, ApiError> {
    let reviewers = accounts::reviewers_in(s.records.as_ref(), &q.tenant).await?;
    Ok(Json(ReviewerList { reviewers }))
}

/// `POST /admin/v1/reviewers/{user}/disable` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewerDisabled {
    pub user: String,
    /// Always `true`.
    pub disabled: bool,
}

/// `POST /admin/v1/reviewers/{user}/disable`: sign-in and open sessions refused at once.
#[utoipa::path(post, operation_id = "admin_disable_reviewer", path = "/admin/v1/reviewers/{user}/disable", tag = "Admin", security(("admin_token" = [])), params(("user" = String, Path)), responses((status = 200, description = "Disabled", body = ReviewerDisabled)))]
pub async fn disable_reviewer(
    State(s): State<Services>,
    Path(user): Path<String>,
) -> Result<Json<ReviewerDisabled>, ApiError> {
    let tenant = accounts::disable_reviewer_in(s.records.as_ref(), &user).await?;
    // No sign-in from the credential cache either.
    s.verified.forget_tenant(&tenant);
    Ok(Json(ReviewerDisabled {
        user,
        disabled: true,
    }))
}
