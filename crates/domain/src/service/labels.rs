//! Labels: admins define them, staff put them on threads and take them off.

use super::{require_admin, require_staff, Chat};
use crate::event::Event;
use crate::label::{Label, NewLabel};
use crate::user::User;
use crate::{DomainError, DomainResult, LabelId, ThreadId};

impl Chat {
    /// An admin defines a label (Conflict `label_taken` for a name in use, ignoring the case of
    /// ASCII letters).
    pub fn create_label(&self, actor: &User, name: &str, color: &str) -> DomainResult<Label> {
        require_admin(actor)?;
        self.store.insert_label(NewLabel::parse(name, color)?)
    }

    /// Every label, by name: staff only.
    pub fn labels(&self, actor: &User) -> DomainResult<Vec<Label>> {
        require_staff(actor)?;
        self.store.list_labels()
    }

    /// Staff put a label on a thread (no claim needed; resolved threads too). Answers the
    /// thread's labels; when they changed, `thread.labels` goes to the thread's staff and the
    /// queue. Putting a label on twice changes nothing.
    pub fn add_thread_label(
        &self,
        actor: &User,
        thread: ThreadId,
        label: LabelId,
    ) -> DomainResult<Vec<Label>> {
        require_staff(actor)?;
        let changed = self.store.add_thread_label(thread, label)?;
        self.labels_after_change(thread, changed)
    }

    /// Staff take a label off a thread: NotFound (`label`) if the thread does not carry it (or
    /// the thread does not exist: NotFound `thread`). Answers the thread's labels and publishes
    /// `thread.labels`.
    pub fn remove_thread_label(
        &self,
        actor: &User,
        thread: ThreadId,
        label: LabelId,
    ) -> DomainResult<Vec<Label>> {
        require_staff(actor)?;
        self.thread(thread)?;
        if !self.store.remove_thread_label(thread, label)? {
            return Err(DomainError::NotFound("label"));
        }
        self.labels_after_change(thread, true)
    }

    /// The labels a thread carries, by name: staff only (Forbidden for clients).
    pub fn thread_labels(&self, actor: &User, thread: ThreadId) -> DomainResult<Vec<Label>> {
        require_staff(actor)?;
        Ok(self
            .store
            .thread_labels(&[thread])?
            .remove(&thread)
            .unwrap_or_default())
    }

    fn labels_after_change(&self, thread: ThreadId, changed: bool) -> DomainResult<Vec<Label>> {
        let labels = self
            .store
            .thread_labels(&[thread])?
            .remove(&thread)
            .unwrap_or_default();
        if changed {
            self.publish(Event::LabelsChanged {
                thread_id: thread,
                labels: labels.clone(),
            });
        }
        Ok(labels)
    }
}
