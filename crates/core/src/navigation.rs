//! How a paper is navigated: its outline (bookmarks) and the links on its
//! pages, as the hub's import analysis reads them from the PDF and devices
//! read them from that analysis. Data only; PDFium is in `phonghop-pdf`.

use serde::{Deserialize, Serialize};

/// Most outline entries kept: a real paper has tens or hundreds; a hostile
/// or looping outline stops here.
pub const MAX_OUTLINE: usize = 2000;
/// Deepest outline level kept.
pub const MAX_OUTLINE_DEPTH: u32 = 12;
/// Most links kept per page.
pub const MAX_PAGE_LINKS: usize = 500;

/// One outline (bookmark) entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutlineEntry {
    /// Its title as the paper gives it.
    pub title: String,
    /// Nesting level, 0 at the top.
    pub depth: u32,
    /// The page it opens (zero-based); `None` for an entry that only groups
    /// others or points outside the paper.
    pub page: Option<u32>,
}

/// A link on a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageLink {
    /// `[left, bottom, right, top]` in PDF points, origin bottom-left.
    pub rect: [f32; 4],
    /// Where it leads.
    pub target: LinkTarget,
}

/// Where a link leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkTarget {
    /// A page of the same paper (zero-based).
    Page {
        /// The page.
        page: u32,
    },
    /// An address outside the paper.
    Uri {
        /// The address.
        uri: String,
    },
}
