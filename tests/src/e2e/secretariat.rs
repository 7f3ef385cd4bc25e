//! Driving the secretariat's screens (ui/src/components/secretariat/):
//! form fields, the agenda as shown, people by name, papers attached
//! through the same command the file picker and desktop drops use.

use super::*;
use fantoccini::Client;
use std::path::Path;

/// Sets an input's or select's value the way typing or choosing would
/// (Svelte's bindings listen to `input`/`change`).
pub async fn set_value(c: &Client, css: &str, value: &str) -> Result<()> {
    wait_css(c, css).await?;
    c.execute(
        "const e = document.querySelector(arguments[0]);
         const proto = e instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
         Object.getOwnPropertyDescriptor(proto, 'value').set.call(e, arguments[1]);
         e.dispatchEvent(new Event('input', { bubbles: true }));
         e.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![css.into(), value.into()],
    )
    .await
    .with_context(|| format!("set {css} = {value:?}"))?;
    Ok(())
}

/// The agenda as the editor shows it: "number title" per row.
pub async fn agenda(c: &Client) -> Result<Vec<String>> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('[data-item-number]')].map(e =>
               e.dataset.itemNumber + ' ' + e.querySelector('[data-testid=sec-item-title]').textContent.trim());",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

pub async fn wait_agenda(c: &Client, want: &[&str]) -> Result<()> {
    let until = std::time::Instant::now() + WAIT;
    loop {
        let got = agenda(c).await?;
        if got == want {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < until,
            "agenda is {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A person's id from the people list, by name.
pub async fn person_id(c: &Client, name: &str) -> Result<String> {
    let body = format!(
        "const e = [...document.querySelectorAll('[data-testid^=person-][data-name]')]
           .find(e => e.dataset.name === {});
         return e ? e.dataset.testid.slice('person-'.length) : null;",
        serde_json::to_string(name)?
    );
    let v = wait_js(c, &format!("person {name}"), &body).await?;
    v.as_str().map(String::from).context("person id")
}

/// Attaches PDF files to agenda item `item` of `meeting` through
/// `sec_add_papers` — what the system file picker and a desktop drop hand
/// to the editor (both native, out of WebDriver's reach) — and waits for
/// the editor's progress list to end on `stage` ("done" or "failed").
pub async fn attach_papers(
    c: &Client,
    meeting: &str,
    item: Option<&str>,
    paths: &[&Path],
    access: &str,
    stage: &str,
) -> Result<()> {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    c.execute(
        "window.__TAURI_INTERNALS__.invoke('sec_add_papers', {
           meeting: arguments[0], item: arguments[1], paths: arguments[2],
           access: { kind: arguments[3], readers: [] } });",
        vec![
            meeting.into(),
            item.map_or(serde_json::Value::Null, Into::into),
            serde_json::to_value(&paths)?,
            access.into(),
        ],
    )
    .await
    .context("invoke sec_add_papers")?;
    let last = paths.len();
    // The progress list keeps the previous import's lines until this one's
    // events replace them: wait for the last file by name.
    let name = Path::new(paths.last().context("no paths")?)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    wait_js(
        c,
        &format!("import of {last} file(s) to end {stage}"),
        &format!(
            "const l = [...document.querySelectorAll('[data-testid=sec-imports] li')];
             const e = l[{last} - 1];
             return !!e && e.dataset.stage === {} && e.textContent.includes({});",
            serde_json::to_string(stage)?,
            serde_json::to_string(&name)?
        ),
    )
    .await
    .map(|_| ())
}
