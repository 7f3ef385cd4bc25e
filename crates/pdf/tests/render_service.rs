//! The render service: priority order and cancellation are observable, cache
//! hits return the same bytes, disk cache files sit under the right key.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use phonghop_pdf::{
    DocRef, Encoding, Generation, PdfError, Priority, RenderConfig, RenderRequest, RenderService,
    Source,
};

fn tracemonkey() -> DocRef {
    let path = common::corpus_dir().join("tracemonkey.pdf");
    let a = phonghop_pdf::analyze(&path).expect("analyze");
    DocRef {
        sha256: a.sha256,
        path,
    }
}

fn service(cache: Option<&std::path::Path>) -> RenderService {
    RenderService::start(RenderConfig {
        cache_dir: cache.map(|p| p.to_path_buf()),
        ..RenderConfig::default()
    })
    .expect("render service")
}

#[test]
fn visible_page_beats_prefetch_submitted_before_it() {
    let doc = tracemonkey();
    let svc = service(None);
    let mut reqs: Vec<RenderRequest> = (1..5)
        .map(|p| RenderRequest::new(doc.clone(), p, 300).priority(Priority::Prefetch))
        .collect();
    reqs.push(RenderRequest::new(doc.clone(), 0, 300).priority(Priority::Thumbnail));
    reqs.push(RenderRequest::new(doc.clone(), 5, 300));
    let handles = svc.render_batch(reqs);
    let orders: Vec<u64> = handles
        .into_iter()
        .map(|h| h.wait().expect("render").served_order)
        .collect();
    // Submitted: prefetch 1..4, thumbnail 0, visible 5. Served: visible,
    // thumbnail, then prefetch in submission order.
    assert_eq!(orders, vec![2, 3, 4, 5, 1, 0], "priority then FIFO");
}

#[test]
fn bumped_generation_and_cancelled_handles_are_skipped() {
    let doc = tracemonkey();
    let svc = service(None);
    let gen = Generation::new();
    let mut reqs = vec![RenderRequest::new(doc.clone(), 0, 2400)]; // keeps the worker busy
    for p in 1..4 {
        reqs.push(
            RenderRequest::new(doc.clone(), p, 300)
                .priority(Priority::Prefetch)
                .generation(&gen),
        );
    }
    reqs.push(RenderRequest::new(doc.clone(), 6, 300).priority(Priority::Prefetch));
    reqs.push(RenderRequest::new(doc.clone(), 7, 300).priority(Priority::Prefetch));
    let mut hs = svc.render_batch(reqs);
    gen.bump(); // the reader jumped elsewhere
    hs[5].cancel(); // and this one was cancelled by hand
    let last = hs.pop().expect("h").wait();
    assert!(
        matches!(last, Err(PdfError::Cancelled)),
        "cancelled handle: {last:?}"
    );
    let kept = hs.pop().expect("h").wait();
    assert!(
        kept.is_ok(),
        "a request without the ticket still renders: {kept:?}"
    );
    for h in hs.drain(1..) {
        let r = h.wait();
        assert!(
            matches!(r, Err(PdfError::Cancelled)),
            "stale generation: {r:?}"
        );
    }
    assert!(hs.pop().expect("blocker").wait().is_ok());
    assert_eq!(svc.stats().cancelled, 4);
    assert_eq!(svc.stats().rendered, 2);
}

#[test]
fn memory_and_disk_cache_return_the_same_bytes() {
    let doc = tracemonkey();
    let cache = tempfile::tempdir().expect("tempdir");
    let first = {
        let svc = service(Some(cache.path()));
        let a = svc
            .render(RenderRequest::new(doc.clone(), 2, 640))
            .wait()
            .expect("render");
        assert_eq!(a.source, Source::Rendered);
        assert!(a.bytes.starts_with(b"\x89PNG"), "PNG by default");
        let b = svc
            .render(RenderRequest::new(doc.clone(), 2, 640))
            .wait()
            .expect("again");
        assert_eq!(b.source, Source::Memory);
        assert!(Arc::ptr_eq(&a.bytes, &b.bytes) || a.bytes == b.bytes);
        let path = svc.disk_path(&doc.sha256, 2, 640).expect("disk cache on");
        assert!(path.starts_with(cache.path().join(&doc.sha256[..2]).join(&doc.sha256)));
        assert!(path.ends_with("p0002-w640.png"), "{}", path.display());
        assert_eq!(std::fs::read(&path).expect("cache file"), *a.bytes);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .map(|e| e.expect("e").file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temp files left: {leftovers:?}");
        a.bytes
    };
    // A new service (empty memory) finds it on disk.
    let svc = service(Some(cache.path()));
    let c = svc
        .render(RenderRequest::new(doc.clone(), 2, 640))
        .wait()
        .expect("disk");
    assert_eq!(c.source, Source::Disk);
    assert_eq!(*c.bytes, *first);
    assert_eq!(
        svc.stats().documents_opened,
        0,
        "a disk hit needs no PDFium"
    );
}

#[test]
fn prefetch_fills_the_cache_and_thumbnails_are_small() {
    let doc = tracemonkey();
    let svc = service(None);
    let gen = Generation::new();
    let page = svc
        .render_with_prefetch(&doc, 0, 500, 2, &gen)
        .wait()
        .expect("visible");
    assert_eq!(page.source, Source::Rendered);
    // Wait for the prefetch to drain, then page 1 is a memory hit.
    for _ in 0..200 {
        if svc.stats().rendered >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let next = svc
        .render(RenderRequest::new(doc.clone(), 1, 500))
        .wait()
        .expect("next");
    assert_eq!(next.source, Source::Memory, "page 1 was prefetched");
    let thumb = svc.thumbnail(&doc, 3).wait().expect("thumb");
    assert_eq!(thumb.width, phonghop_pdf::THUMBNAIL_WIDTH);
    assert!(thumb.bytes.len() < page.bytes.len());
    let past = svc.render(RenderRequest::new(doc.clone(), 99, 500)).wait();
    assert!(
        matches!(
            past,
            Err(PdfError::NoSuchPage {
                page: 99,
                count: 14,
                ..
            })
        ),
        "{past:?}"
    );
}

#[test]
fn handle_is_a_future_and_webp_works() {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let doc = tracemonkey();
    let svc = RenderService::start(RenderConfig {
        encoding: Encoding::Webp,
        ..RenderConfig::default()
    })
    .expect("service");
    let mut fut = Box::pin(svc.render(RenderRequest::new(doc, 0, 400)));
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let page = loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => break r.expect("render"),
            Poll::Pending => std::thread::park_timeout(Duration::from_secs(5)),
        }
    };
    assert!(page.bytes.starts_with(b"RIFF") && &page.bytes[8..12] == b"WEBP");
}

#[test]
fn missing_document_is_a_typed_error() {
    let svc = service(None);
    let doc = DocRef {
        sha256: "00".repeat(32),
        path: "/nonexistent/to-trinh-05.pdf".into(),
    };
    let r = svc.render(RenderRequest::new(doc, 0, 300)).wait();
    assert!(matches!(r, Err(PdfError::NotFound { .. })), "{r:?}");
}
