//! Case documents against a real S3 protocol server (s3s-fs, SigV4 checked) and the
//! local store, on SQLite and PostgreSQL.

mod http;
mod partner_statements;
mod s3;
mod scenarios;
mod single_commit;
mod support;

use crate::support::on_both;

on_both!(
    documents_s3_streamed_and_multipart,
    crate::scenarios::streamed_and_multipart
);
on_both!(documents_s3_presigned, crate::scenarios::presigned);
on_both!(
    documents_partner_isolation,
    crate::scenarios::partner_isolation
);
on_both!(
    documents_server_stopped_mid_upload,
    crate::scenarios::server_stopped
);
on_both!(documents_limits, crate::scenarios::limits);
on_both!(documents_retention, crate::scenarios::retention);
on_both!(documents_verify, crate::scenarios::verify);
on_both!(documents_sweeper, crate::scenarios::sweeper);
on_both!(documents_local_store, crate::scenarios::local_store);
on_both!(
    documents_partner_statements,
    crate::partner_statements::kept_and_shown_to_their_partner
);
on_both!(
    documents_row_with_entry,
    crate::single_commit::row_with_entry
);
on_both!(
    documents_hold_carries_over,
    crate::single_commit::hold_carries_over
);
on_both!(
    documents_repeated_confirm,
    crate::single_commit::repeated_confirm
);
on_both!(
    documents_sweeper_repair_is_idempotent,
    crate::single_commit::sweeper_repair_is_idempotent
);
