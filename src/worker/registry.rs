//! The registry of a locked deployment: one Durable Object, the single writer of the list
//! of provisioned namespaces, serving `/_admin/…` (the entry has checked the admin token).
//! A creation inserts its row before anything else, so of concurrent creations of one name
//! exactly one wins; the namespace's object then receives its credentials. Rows in the
//! middle of a change are marked, so a deletion or rotation cannot race another.

use serde::Deserialize;
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorage,
    SqlStorageValue, State,
};

use super::runtime::{deployment, to_response, NAMESPACES_BINDING};
use crate::admin::{self, CreateRequest, NamespaceRecord};
use crate::control::rotation::{Keep, Removed};
use crate::policy::json_error;
use crate::policy::routes::{self, Admin, Endpoint};
use crate::policy::secrets::{Issued, Provision};
use crate::protocol::http::HttpResponse;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS namespaces (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  idle_days INTEGER NOT NULL,
  access_key_id TEXT NOT NULL,
  state TEXT NOT NULL,
  last_activity_at INTEGER
)";

#[durable_object]
pub struct RegistryObject {
    state: State,
    env: Env,
}

#[derive(Deserialize)]
struct Row {
    name: String,
    created_at: i64,
    idle_days: i64,
    access_key_id: String,
    state: String,
    last_activity_at: Option<i64>,
}

impl Row {
    fn record(&self) -> NamespaceRecord {
        NamespaceRecord {
            name: self.name.clone(),
            created_at: self.created_at,
            idle_days: self.idle_days as u32,
            access_key_id: self.access_key_id.clone(),
        }
    }
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

fn text(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

fn now_ms() -> i64 {
    worker::js_sys::Date::now() as i64
}

/// An admin answer; it may carry a namespace's credentials, so no cache keeps it.
fn answer(status: u16, value: serde_json::Value) -> Result<Response> {
    to_response(HttpResponse::json(status, &value).with_header("Cache-Control", "no-store"))
}

fn random_issue() -> Result<Issued> {
    let mut bytes = [0u8; 96];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| worker::Error::RustError(format!("random source: {e}")))?;
    Ok(Issued::from_random(&bytes))
}

impl DurableObject for RegistryObject {
    fn new(state: State, env: Env) -> Self {
        RegistryObject { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let path = url.path().to_string();
        // The namespaces' own calls (never forwarded from outside); they name the
        // incarnation they speak for, so a late call cannot touch a namespace made anew.
        let created_at = url
            .query_pairs()
            .find(|(k, _)| k == "createdAt")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(-1);
        if let Some(name) = path.strip_prefix("/_registry/expired/") {
            self.sql()?.exec(
                "DELETE FROM namespaces WHERE name = ? AND created_at = ? AND state = 'ready'",
                vec![text(name), SqlStorageValue::Integer(created_at)],
            )?;
            return Response::empty();
        }
        if let Some(name) = path.strip_prefix("/_registry/activity/") {
            let at = url
                .query_pairs()
                .find(|(k, _)| k == "at")
                .and_then(|(_, v)| v.parse::<i64>().ok());
            if let Some(at) = at {
                self.sql()?.exec(
                    "UPDATE namespaces SET last_activity_at = ? WHERE name = ? AND created_at = ?",
                    vec![
                        SqlStorageValue::Integer(at),
                        text(name),
                        SqlStorageValue::Integer(created_at),
                    ],
                )?;
            }
            return Response::empty();
        }
        let origin = url.origin().ascii_serialization();
        let method = req.method().to_string();
        let found = routes::find(&method, &path).map_err(worker::Error::RustError)?;
        let name = found.params().first().cloned().unwrap_or_default();
        match found.endpoint() {
            Some(Endpoint::Admin(Admin::CreateNamespace)) => {
                let body = req.bytes().await?;
                self.create(&origin, &body).await
            }
            Some(Endpoint::Admin(Admin::ListNamespaces)) => self.list(&origin).await,
            Some(Endpoint::Admin(Admin::DeleteNamespace)) => self.delete(&name).await,
            Some(Endpoint::Admin(Admin::RotateNamespace)) => {
                let body = req.bytes().await?;
                match Keep::from_body(&body) {
                    Ok(keep) => self.rotate(&origin, &name, keep).await,
                    Err(message) => to_response(json_error(400, message)),
                }
            }
            Some(Endpoint::Admin(Admin::Routes)) => answer(200, admin::routes_view()),
            _ => {
                let status = match found.outcome {
                    routes::Outcome::MethodNotAllowed(_) => 405,
                    _ => 404,
                };
                let refusal = json_error(status, format!("no admin endpoint {method} {path}"));
                to_response(match found.outcome.allow() {
                    Some(allow) => refusal.with_header("Allow", &allow),
                    None => refusal,
                })
            }
        }
    }
}

impl RegistryObject {
    fn sql(&self) -> Result<SqlStorage> {
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        Ok(sql)
    }

    fn row(&self, name: &str) -> Result<Option<Row>> {
        let rows: Vec<Row> = self
            .sql()?
            .exec("SELECT * FROM namespaces WHERE name = ?", vec![text(name)])?
            .to_array()?;
        Ok(rows.into_iter().next())
    }

    fn set_state(&self, name: &str, state: &str) -> Result<()> {
        self.sql()?.exec(
            "UPDATE namespaces SET state = ? WHERE name = ?",
            vec![text(state), text(name)],
        )?;
        Ok(())
    }

    /// Provisions (`Some`) or wipes (`None`) the namespace's object; a rotation (`Some` keep:
    /// what the admin keeps) answers what it removed, a creation starts the object afresh.
    async fn tell_namespace(
        &self,
        name: &str,
        provision: Option<&Provision>,
        rotation: Option<Keep>,
    ) -> Result<Option<serde_json::Value>> {
        let mut init = RequestInit::new();
        match provision {
            Some(p) => {
                let body = serde_json::to_string(p)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                init.with_method(Method::Put).with_body(Some(body.into()));
            }
            None => {
                init.with_method(Method::Delete);
            }
        };
        let url = match (provision, rotation) {
            (None, _) => "https://namespace/_registry/provision".to_string(),
            (Some(_), Some(keep)) => format!(
                "https://namespace/_registry/provision?rotate=1&keep={}",
                keep.to_list()
            ),
            (Some(_), None) => "https://namespace/_registry/provision?create=1".to_string(),
        };
        let request = Request::new_with_init(&url, &init)?;
        let mut response = self
            .env
            .durable_object(NAMESPACES_BINDING)?
            .id_from_name(name)?
            .get_stub()?
            .fetch_with_request(request)
            .await?;
        if response.status_code() >= 300 {
            return Err(worker::Error::RustError(format!(
                "namespace {name} answered {}",
                response.status_code()
            )));
        }
        let body = response.text().await?;
        Ok(serde_json::from_str(&body).ok())
    }

    async fn create(&self, origin: &str, body: &[u8]) -> Result<Response> {
        let deployment = deployment(&self.env).map_err(worker::Error::RustError)?;
        let request = match CreateRequest::parse(body, &deployment) {
            Ok(r) => r,
            Err(message) => return to_response(json_error(400, message)),
        };
        let counted: Vec<Count> = self
            .sql()?
            .exec("SELECT COUNT(*) AS n FROM namespaces", None)?
            .to_array()?;
        if counted.first().map_or(0, |c| c.n) as usize >= deployment.limits.namespaces {
            return to_response(json_error(
                409,
                format!(
                    "the deployment holds its maximum of {} namespaces (MAX_NAMESPACES): delete one first",
                    deployment.limits.namespaces
                ),
            ));
        }
        let issued = random_issue()?;
        let record = NamespaceRecord {
            name: request.name.clone(),
            created_at: now_ms(),
            idle_days: request.idle_days,
            access_key_id: issued.access_key_id.clone(),
        };
        // Names are unique without regard to case: `Team-A` beside `team-a` would be two
        // teams' worlds one typo apart. (No await before the insert: nothing comes between.)
        let alike: Vec<serde_json::Value> = self
            .sql()?
            .exec(
                "SELECT name FROM namespaces WHERE lower(name) = lower(?) AND name <> ?",
                vec![text(&record.name), text(&record.name)],
            )?
            .to_array()?;
        if let Some(existing) = alike.first().and_then(|r| r["name"].as_str()) {
            return to_response(json_error(
                409,
                format!(
                    "namespace '{existing}' exists: names are unique without regard to case, so '{}' cannot be created",
                    record.name
                ),
            ));
        }
        // The row first: a concurrent creation of the same name fails on the key here.
        let inserted = self.sql()?.exec(
            "INSERT INTO namespaces (name, created_at, idle_days, access_key_id, state) VALUES (?, ?, ?, ?, 'creating') ON CONFLICT (name) DO NOTHING RETURNING name",
            vec![
                text(&record.name),
                SqlStorageValue::Integer(record.created_at),
                SqlStorageValue::Integer(i64::from(record.idle_days)),
                text(&record.access_key_id),
            ],
        )?;
        if inserted.to_array::<serde_json::Value>()?.is_empty() {
            return to_response(json_error(
                409,
                format!("namespace '{}' exists", record.name),
            ));
        }
        let provision = Provision::new(&record.name, &issued, record.idle_days, record.created_at);
        if let Err(e) = self
            .tell_namespace(&record.name, Some(&provision), None)
            .await
        {
            self.sql()?.exec(
                "DELETE FROM namespaces WHERE name = ?",
                vec![text(&record.name)],
            )?;
            return Err(e);
        }
        self.set_state(&record.name, "ready")?;
        answer(201, admin::issued_view(origin, &record, &issued))
    }

    async fn list(&self, origin: &str) -> Result<Response> {
        let day_ms = deployment(&self.env)
            .map_err(worker::Error::RustError)?
            .idle_day_ms;
        let rows: Vec<Row> = self
            .sql()?
            .exec("SELECT * FROM namespaces ORDER BY name", None)?
            .to_array()?;
        let views: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                let mut view =
                    admin::listed_view(origin, &row.record(), row.last_activity_at, day_ms);
                view["state"] = serde_json::json!(row.state);
                view
            })
            .collect();
        answer(200, serde_json::json!({ "namespaces": views }))
    }

    /// Takes a ready namespace into a change (`deleting`, `rotating`), or says why not.
    fn begin(&self, name: &str, change: &str) -> Result<std::result::Result<Row, Response>> {
        let Some(row) = self.row(name)? else {
            return Ok(Err(to_response(json_error(
                404,
                format!("no namespace '{name}'"),
            ))?));
        };
        // A creation that never finished (the registry stopped mid-way) may be deleted
        // after a minute; any other change in progress makes this one wait.
        let abandoned =
            row.state == "creating" && change == "deleting" && now_ms() - row.created_at > 60_000;
        if row.state != "ready" && !abandoned {
            return Ok(Err(to_response(json_error(
                409,
                format!(
                    "namespace '{name}' is being changed ({}): try again",
                    row.state
                ),
            ))?));
        }
        self.set_state(name, change)?;
        Ok(Ok(row))
    }

    async fn delete(&self, name: &str) -> Result<Response> {
        if let Err(refused) = self.begin(name, "deleting")? {
            return Ok(refused);
        }
        if let Err(e) = self.tell_namespace(name, None, None).await {
            self.set_state(name, "ready")?;
            return Err(e);
        }
        self.sql()?
            .exec("DELETE FROM namespaces WHERE name = ?", vec![text(name)])?;
        Ok(Response::empty()?.with_status(204))
    }

    /// New credentials for the namespace; what the old ones could have planted is removed
    /// but for what the admin keeps, and the answer lists it.
    async fn rotate(&self, origin: &str, name: &str, keep: Keep) -> Result<Response> {
        let row = match self.begin(name, "rotating")? {
            Ok(row) => row,
            Err(refused) => return Ok(refused),
        };
        let issued = random_issue()?;
        let mut record = row.record();
        record.access_key_id = issued.access_key_id.clone();
        let provision = Provision::new(name, &issued, record.idle_days, record.created_at);
        let told = self
            .tell_namespace(name, Some(&provision), Some(keep))
            .await;
        if told.is_ok() {
            self.sql()?.exec(
                "UPDATE namespaces SET access_key_id = ? WHERE name = ?",
                vec![text(&record.access_key_id), text(name)],
            )?;
        }
        self.set_state(name, "ready")?;
        let removed = told?.and_then(|mut answer| answer.get_mut("removed").map(std::mem::take));
        let mut view = admin::issued_view(origin, &record, &issued);
        // A namespace whose object had lost its provisioning starts afresh: nothing to list.
        view["removed"] = removed
            .or_else(|| serde_json::to_value(Removed::default()).ok())
            .unwrap_or_default();
        answer(200, view)
    }
}
