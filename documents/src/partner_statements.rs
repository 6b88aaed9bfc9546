//! Partners' monthly statements as stored PDFs. A statement belongs to a partner, not
//! to a case, so it is no case document (no `DocumentAdded` in a case's journal, no
//! retention class of a case): a `partner_statements` row names its object in the same
//! store, with its SHA-256, and the sweeper keeps the objects those rows name. Its
//! partner's users and the creditor's admins and supervisors may download it.

use bytes::Bytes;
use orm::entities::{partner_statements, partners};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use services::access::{Operation, Principal, Role};
use services::desk::{DeskError, require};
use sha2::{Digest, Sha256};

use super::store::Presigned;
use super::{DocumentError, DocumentService};

pub type StoredStatement = partner_statements::Model;

/// Whether `p` may see the statements of `partner_id`: its own users, or the
/// creditor's people who manage partners. Another partner is told it does not exist.
fn may_see(p: &Principal, partner_id: &str) -> Result<(), DocumentError> {
    if p.role == Role::Partner {
        return if p.partner.as_deref() == Some(partner_id) {
            Ok(())
        } else {
            Err(DeskError::PartnerNotFound(partner_id.to_string()).into())
        };
    }
    Ok(require(
        p,
        Operation::ManagePartners,
        "read partner statements",
    )?)
}

impl DocumentService {
    /// Stores a rendered statement of `partner_id` for `month` (admins, supervisors).
    pub async fn store_partner_statement(
        &self,
        p: &Principal,
        partner_id: &str,
        month: &str,
        pdf: Vec<u8>,
    ) -> Result<StoredStatement, DocumentError> {
        require(p, Operation::ManagePartners, "issue partner statements")?;
        partners::Entity::find_by_id(partner_id.to_string())
            .filter(partners::Column::Tenant.eq(p.tenant.as_str()))
            .one(self.db())
            .await?
            .ok_or_else(|| DeskError::PartnerNotFound(partner_id.to_string()))?;
        if pdf.len() as u64 > self.config.max_size {
            return Err(DocumentError::TooLarge {
                limit: self.config.max_size,
            });
        }
        let statement_id = uuid::Uuid::new_v4().to_string();
        let key = format!(
            "{}/partners/{partner_id}/statements/{statement_id}.pdf",
            p.tenant
        );
        let sha: [u8; 32] = Sha256::digest(&pdf).into();
        let size = pdf.len() as i64;
        let mut w = self.store.writer(&key).await?;
        if let Err(e) = w.write(Bytes::from(pdf)).await {
            w.abort().await;
            return Err(e.into());
        }
        w.finish(&sha).await?;
        let row = partner_statements::ActiveModel {
            statement_id: Set(statement_id),
            tenant: Set(p.tenant.clone()),
            partner_id: Set(partner_id.to_string()),
            month: Set(month.to_string()),
            object_key: Set(key.clone()),
            sha256: Set(hex::encode(sha)),
            size_bytes: Set(size),
            created_at: Set(self.now()),
            created_by: Set(p.acting_identity()),
        };
        match row.insert(self.db()).await {
            Ok(row) => Ok(row),
            Err(e) => {
                // No row names it: remove it now rather than leave it to the sweeper.
                let _ = self.store.delete(&key).await;
                Err(e.into())
            }
        }
    }

    /// The stored statements of a partner, newest first (a month filter optional).
    pub async fn partner_statements(
        &self,
        p: &Principal,
        partner_id: &str,
        month: Option<&str>,
    ) -> Result<Vec<StoredStatement>, DocumentError> {
        may_see(p, partner_id)?;
        let mut q = partner_statements::Entity::find()
            .filter(partner_statements::Column::Tenant.eq(p.tenant.as_str()))
            .filter(partner_statements::Column::PartnerId.eq(partner_id));
        if let Some(m) = month {
            q = q.filter(partner_statements::Column::Month.eq(m));
        }
        Ok(q.order_by_desc(partner_statements::Column::CreatedAt)
            .all(self.db())
            .await?)
    }

    /// A short-lived download link for a stored statement.
    pub async fn download_partner_statement(
        &self,
        p: &Principal,
        statement_id: &str,
    ) -> Result<(StoredStatement, Presigned), DocumentError> {
        let not_found = || DocumentError::NotFound(statement_id.to_string());
        let row = partner_statements::Entity::find_by_id(statement_id.to_string())
            .filter(partner_statements::Column::Tenant.eq(p.tenant.as_str()))
            .one(self.db())
            .await?
            .ok_or_else(not_found)?;
        may_see(p, &row.partner_id).map_err(|e| match e {
            DocumentError::Desk(DeskError::PartnerNotFound(_)) => not_found(),
            e => e,
        })?;
        let file_name = format!("statement-{}.pdf", row.month);
        let request = self
            .store
            .presign_get(
                &row.object_key,
                &file_name,
                "application/pdf",
                self.now(),
                self.config.url_ttl,
            )
            .await?;
        Ok((row, request))
    }
}
