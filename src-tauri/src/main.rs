// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    // The secretariat's paper import analyses each PDF in a child process
    // of this same executable (`phonghop-app pdf analyze-worker FILE`), so a
    // broken or hostile file cannot take the app down.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.len() == 3 && args[0] == "pdf" && args[1] == "analyze-worker" {
        return phonghop_pdf::run_analyze_worker(std::path::Path::new(&args[2]));
    }
    // Page rendering and annotated export run in a confined child of this
    // executable too (`phonghop-app pdf render-worker …`): the app's own
    // process never calls PDFium, and a page that crashes it costs that page.
    if args.len() >= 2 && args[0] == "pdf" && args[1] == "render-worker" {
        return phonghop_pdf::run_render_worker(&args[2..]);
    }
    phonghop_app::run();
    std::process::ExitCode::SUCCESS
}
