//! Deployed process definitions: immutable (process id + version + content hash), kept
//! compiled in memory once loaded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bpmn::compile::{Deployment, Source, content_hash, deploy};
use chrono::{DateTime, Utc};
use orm::entities::process_definitions as defs;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::RuntimeError;
use crate::store::Store;

/// One deployed process version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployed {
    pub definition_id: i64,
    pub process_id: String,
    pub version: i32,
    pub content_hash: String,
    /// False when the same content was already deployed (nothing new was stored).
    pub created: bool,
}

#[derive(Debug, Default)]
pub struct DefinitionCache {
    compiled: Mutex<BTreeMap<i64, Arc<Deployment>>>,
}

impl DefinitionCache {
    pub async fn get(&self, store: &Store, id: i64) -> Result<Arc<Deployment>, RuntimeError> {
        if let Some(d) = self
            .compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(d.clone());
        }
        let row = store
            .definition(id)
            .await?
            .ok_or(RuntimeError::UnknownDefinition(id.to_string()))?;
        let src = Source {
            name: &row.process_id,
            xml: row.bpmn_xml.as_bytes(),
            version: row.version as u32,
        };
        let dep = deploy(&[src]).map_err(|e| RuntimeError::InvalidModel(format!("{e:?}")))?;
        let dep = Arc::new(dep);
        self.compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, dep.clone());
        Ok(dep)
    }

    /// Validates and stores every executable process of `xml`. Identical content keeps
    /// its version; changed content becomes the next version.
    pub async fn deploy(
        &self,
        store: &Store,
        name: &str,
        xml: &str,
        deployed_by: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Deployed>, RuntimeError> {
        let compiled = deploy(&[Source {
            name,
            xml: xml.as_bytes(),
            version: 1,
        }])
        .map_err(|errs| {
            RuntimeError::InvalidModel(
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        let hash = content_hash(xml.as_bytes());
        let mut out = Vec::new();
        for p in &compiled.processes {
            let pid = p.key.process_id.clone();
            let existing = defs::Entity::find()
                .filter(defs::Column::ProcessId.eq(pid.as_str()))
                .order_by_desc(defs::Column::Version)
                .all(store.db())
                .await?;
            if let Some(same) = existing.iter().find(|d| d.content_hash == hash) {
                out.push(Deployed {
                    definition_id: same.id,
                    process_id: pid,
                    version: same.version,
                    content_hash: hash.clone(),
                    created: false,
                });
                continue;
            }
            let version = existing.first().map_or(1, |d| d.version + 1);
            let row = defs::ActiveModel {
                process_id: Set(pid.clone()),
                version: Set(version),
                content_hash: Set(hash.clone()),
                bpmn_xml: Set(xml.to_string()),
                deployed_by: Set(deployed_by.to_string()),
                deployed_at: Set(at),
                ..Default::default()
            }
            .insert(store.db())
            .await?;
            out.push(Deployed {
                definition_id: row.id,
                process_id: pid,
                version,
                content_hash: hash.clone(),
                created: true,
            });
        }
        if out.is_empty() {
            return Err(RuntimeError::InvalidModel(
                "the document has no executable process (isExecutable=\"true\")".into(),
            ));
        }
        Ok(out)
    }

    /// The latest version of a process, or a given one.
    pub async fn resolve(
        &self,
        store: &Store,
        process_id: &str,
        version: Option<i32>,
    ) -> Result<defs::Model, RuntimeError> {
        let mut q = defs::Entity::find().filter(defs::Column::ProcessId.eq(process_id));
        if let Some(v) = version {
            q = q.filter(defs::Column::Version.eq(v));
        }
        q.order_by_desc(defs::Column::Version)
            .one(store.db())
            .await?
            .ok_or_else(|| {
                RuntimeError::UnknownDefinition(match version {
                    Some(v) => format!("{process_id} v{v}"),
                    None => process_id.to_string(),
                })
            })
    }
}
