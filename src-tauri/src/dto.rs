//! Transport shapes for the UI (camelCase JSON), with conversions from the
//! domain types. Domain types carry no UI concerns; this is where the UI's
//! view of them is made (the contract is `ui/src/lib/backend.ts`).

use phonghop_client::{LocalAnnotation, PendingState, SyncProgress};
use phonghop_core::reducer::MeetingState;
use phonghop_core::*;
use phonghop_store::BlobStore;
use serde::{Deserialize, Serialize};

/// `{code, message}`: the only error shape that crosses to the UI.
#[derive(Debug, Serialize)]
pub struct CmdError {
    /// Stable code the UI switches on.
    pub code: String,
    /// For people (shown when the UI has no translation for the code).
    pub message: String,
}

impl CmdError {
    /// An error with a code.
    pub fn new(code: &str, message: impl Into<String>) -> CmdError {
        CmdError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<phonghop_client::ClientError> for CmdError {
    fn from(e: phonghop_client::ClientError) -> Self {
        CmdError::new(&e.code(), e.to_string())
    }
}

impl From<phonghop_pdf::PdfError> for CmdError {
    fn from(e: phonghop_pdf::PdfError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

/// Who is signed in.
#[derive(Debug, Serialize)]
pub struct PersonDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// `app_status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// Paired with a hub.
    pub joined: bool,
    /// The hub.
    pub hub_url: Option<String>,
    /// The person.
    pub person: Option<PersonDto>,
    /// online / offline / connecting.
    pub connection: phonghop_client::Connection,
    /// Download progress.
    pub sync: SyncProgress,
}

/// A meeting in the list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingSummary {
    id: String,
    body: String,
    title: String,
    starts_at: Option<i64>,
    place: String,
    status: &'static str,
    current_item: Option<String>,
}

impl From<&MeetingState> for MeetingSummary {
    fn from(m: &MeetingState) -> Self {
        MeetingSummary {
            id: m.id.to_string(),
            body: m.body.clone(),
            title: m.title.clone(),
            starts_at: m.starts_at.map(|t| t.0),
            place: m.place.clone().unwrap_or_default(),
            status: m.status.code(),
            current_item: m.current_item.as_ref().map(|i| i.to_string()),
        }
    }
}

/// A version's state on this device.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperVersion {
    version: u32,
    sha256: String,
    pages: u32,
    size: u64,
    downloaded: bool,
    bytes_done: u64,
}

/// A paper under an agenda item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paper {
    id: String,
    title: String,
    confidential: bool,
    versions: u32,
    latest: PaperVersion,
}

/// An agenda line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgendaItemDto {
    id: String,
    number: String,
    depth: usize,
    title: String,
    presenter: String,
    planned_minutes: u32,
    papers: Vec<Paper>,
}

/// `get_meeting`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingDetail {
    #[serde(flatten)]
    summary: MeetingSummary,
    agenda: Vec<AgendaItemDto>,
}

fn paper(d: &Document, blobs: &BlobStore) -> Option<Paper> {
    let v = d.versions.last()?;
    let downloaded = blobs.has(&v.sha256);
    let bytes_done = if downloaded {
        v.size
    } else {
        std::fs::metadata(
            blobs
                .path(&v.sha256)
                .parent()?
                .parent()?
                .join("tmp")
                .join(format!("{}.part", v.sha256)),
        )
        .map(|m| m.len())
        .unwrap_or(0)
    };
    Some(Paper {
        id: d.id.to_string(),
        title: d.title.clone(),
        confidential: matches!(d.confidentiality, Confidentiality::Named(_)),
        versions: d.versions.len() as u32,
        latest: PaperVersion {
            version: v.version,
            sha256: v.sha256.to_hex(),
            pages: v.pages.unwrap_or(0),
            size: v.size,
            downloaded,
            bytes_done,
        },
    })
}

impl MeetingDetail {
    /// Builds the agenda with papers and their download state.
    pub fn build(m: &MeetingState, blobs: &BlobStore) -> MeetingDetail {
        let mut agenda: Vec<AgendaItemDto> = m
            .numbered_agenda()
            .into_iter()
            .map(|n| {
                let mut docs: Vec<&Document> = m
                    .documents
                    .values()
                    .filter(|d| d.item.as_ref() == Some(&n.item.id))
                    .collect();
                docs.sort_by(|a, b| a.title.cmp(&b.title));
                AgendaItemDto {
                    id: n.item.id.to_string(),
                    number: n.number,
                    depth: n.depth,
                    title: n.item.title.clone(),
                    presenter: n.item.presenter.clone().unwrap_or_default(),
                    planned_minutes: n.item.planned_minutes.unwrap_or(0),
                    papers: docs.into_iter().filter_map(|d| paper(d, blobs)).collect(),
                }
            })
            .collect();
        // Papers on no agenda item get a line of their own at the end.
        let loose: Vec<Paper> = m
            .documents
            .values()
            .filter(|d| d.item.is_none())
            .filter_map(|d| paper(d, blobs))
            .collect();
        if !loose.is_empty() {
            agenda.push(AgendaItemDto {
                id: "_other".into(),
                number: String::new(),
                depth: 0,
                title: String::new(),
                presenter: String::new(),
                planned_minutes: 0,
                papers: loose,
            });
        }
        MeetingDetail {
            summary: m.into(),
            agenda,
        }
    }
}

/// A text page.
#[derive(Debug, Serialize)]
pub struct TextPage {
    width: f32,
    height: f32,
    text: String,
    boxes: Vec<[f32; 4]>,
}

impl From<phonghop_client::PageText> for TextPage {
    fn from(p: phonghop_client::PageText) -> Self {
        TextPage {
            width: p.width,
            height: p.height,
            text: p.text,
            boxes: p.boxes,
        }
    }
}

/// `get_paper_text`.
#[derive(Debug, Serialize)]
pub struct PaperText {
    /// Pages.
    pub pages: Vec<TextPage>,
}

/// A search hit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    meeting_id: String,
    document_id: String,
    version: u32,
    page: u32,
    snippet: String,
    boxes: Vec<[f32; 4]>,
}

impl From<(phonghop_store::search::SearchHit, Vec<[f32; 4]>)> for SearchHit {
    fn from((h, boxes): (phonghop_store::search::SearchHit, Vec<[f32; 4]>)) -> Self {
        SearchHit {
            meeting_id: h.meeting.to_string(),
            document_id: h.document.to_string(),
            version: h.version,
            page: h.page,
            snippet: h.snippet,
            boxes,
        }
    }
}

/// An annotation as the UI sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationView {
    /// Id (made by the UI).
    pub id: String,
    /// Paper.
    pub document_id: String,
    /// Version it was made on.
    pub version: u32,
    /// Page, 0-based.
    pub page: u32,
    /// Geometry.
    pub shape: Shape,
    /// "#rrggbb".
    pub color: String,
    /// Note text.
    pub text: Option<String>,
    /// private / shared.
    pub visibility: Visibility,
    /// Last change, ms.
    #[serde(default)]
    pub updated_at: i64,
    /// saved / sent (ignored on input).
    #[serde(default = "saved")]
    pub state: PendingState,
}

fn saved() -> PendingState {
    PendingState::Saved
}

impl From<LocalAnnotation> for AnnotationView {
    fn from(l: LocalAnnotation) -> Self {
        let a = l.annotation;
        AnnotationView {
            id: a.id.to_string(),
            document_id: a.document.to_string(),
            version: a.version,
            page: a.page,
            shape: a.shape,
            color: a.color,
            text: a.text,
            visibility: a.visibility,
            updated_at: a.updated_at.0,
            state: l.state,
        }
    }
}

impl AnnotationView {
    /// The domain annotation, authored by `author` at `now`.
    pub fn to_annotation(&self, author: &PersonId, now: Timestamp) -> Result<Annotation, CmdError> {
        if !validate_id(&self.id) {
            return Err(CmdError::new(
                "bad_request",
                format!("'{}' is not a valid annotation id", self.id),
            ));
        }
        Ok(Annotation {
            id: AnnotationId::new(&self.id),
            author: author.clone(),
            document: DocumentId::new(&self.document_id),
            version: self.version,
            page: self.page,
            shape: self.shape.clone(),
            color: self.color.clone(),
            text: self.text.clone(),
            visibility: self.visibility,
            updated_at: now,
        })
    }
}
