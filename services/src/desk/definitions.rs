//! Process definitions: deploy, list versions, fetch XML.

use bpmn::compile::{Source, deploy};
use orm::entities::process_definitions as defs;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal};
use crate::runtime::definitions::Deployed;

/// One thing wrong with a model, where it is (in `extensions.problems` at the API).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployProblem {
    pub code: String,
    pub message: String,
    pub line: u32,
    pub column: u32,
    pub element_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeployReport {
    pub deployed: Vec<Deployed>,
}

/// Models larger than this are refused before parsing.
pub const MAX_MODEL_BYTES: usize = 16 * 1024 * 1024;

impl Desk {
    pub async fn deploy(
        &self,
        p: &Principal,
        name: &str,
        xml: &str,
    ) -> Result<DeployReport, DeskError> {
        require(p, Operation::DeployProcess, "deploy processes")?;
        if xml.len() > MAX_MODEL_BYTES {
            return Err(DeskError::Invalid(format!(
                "the model is {} bytes; the limit is {MAX_MODEL_BYTES}",
                xml.len()
            )));
        }
        // Compiled here first for structured problems (line, column, element).
        if let Err(errors) = deploy(&[Source {
            name,
            xml: xml.as_bytes(),
            version: 1,
        }]) {
            let problems = errors
                .iter()
                .flat_map(|e| e.diagnostics.0.iter())
                .map(|d| DeployProblem {
                    code: d.code.as_str().to_string(),
                    message: d.message.clone(),
                    line: d.pos.line,
                    column: d.pos.col,
                    element_id: d.element_id.clone(),
                })
                .collect();
            return Err(DeskError::InvalidModel(problems));
        }
        let deployed = self.runtime.deploy(name, xml, &p.acting_identity()).await?;
        Ok(DeployReport { deployed })
    }

    /// Deployed versions, newest first; all processes, or one.
    pub async fn definitions(
        &self,
        p: &Principal,
        process_id: Option<&str>,
    ) -> Result<Vec<defs::Model>, DeskError> {
        require(p, Operation::ReadProcess, "read process definitions")?;
        let mut q = defs::Entity::find();
        if let Some(id) = process_id {
            q = q.filter(defs::Column::ProcessId.eq(id));
        }
        Ok(q.order_by_asc(defs::Column::ProcessId)
            .order_by_desc(defs::Column::Version)
            .all(&self.db)
            .await?)
    }

    pub async fn definition(&self, p: &Principal, id: i64) -> Result<defs::Model, DeskError> {
        require(p, Operation::ReadProcess, "read process definitions")?;
        defs::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DeskError::DefinitionNotFound(id.to_string()))
    }
}
