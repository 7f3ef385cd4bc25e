// An in-memory Backend with sample Vietnamese data, for `vite dev` in a plain
// browser (no Tauri). Only main.ts imports it, behind `import.meta.env.DEV`,
// so it never reaches a production build.
//
// Pages are SVG placeholders drawn with a fixed advance per character, and
// the character boxes are computed from the same layout, so text selection,
// highlights and search boxes line up as they will with real PDFs.
//
// URL parameters: `?joined=1` starts paired; `?offline=1` starts offline.
// Invite codes: PH1-DEMO joins; PH1-USED, PH1-DOWN, PH1-MITM give the
// invite_unknown, hub_unreachable and certificate_mismatch errors; anything
// not starting with PH1- is a bad_invite.

import {
  BackendError,
  type AgendaItem,
  type AnnotationView,
  type AppStatus,
  type Backend,
  type BackendEventName,
  type BackendEvents,
  type Box,
  type MeetingDetail,
  type MeetingSummary,
  type PaperText,
  type SearchHit,
  type TextPage,
  type Unsubscribe,
} from "./backend";

const W = 595;
const H = 842;
const FONT = 12;
const ADV = 7.2; // points per character
const LEFT = 72;
const TOP = 90;
const LEADING = 19;
const COLS = 62;
const LINES_PER_PAGE = 34;

const SENTENCES = [
  "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
  "Căn cứ Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015;",
  "Xét Tờ trình số 45/TTr-UBND của Ủy ban nhân dân tỉnh về dự toán ngân sách năm 2027;",
  "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách Hội đồng nhân dân tỉnh và ý kiến thảo luận của đại biểu Hội đồng nhân dân tỉnh tại kỳ họp.",
  "Tổng thu ngân sách nhà nước trên địa bàn tỉnh ước đạt 12.450 tỷ đồng, tăng 8,5% so với dự toán được giao.",
  "Chi đầu tư phát triển tập trung cho giao thông nông thôn, trường học và trạm y tế xã ở vùng sâu, vùng xa.",
  "Đề nghị Hội đồng nhân dân tỉnh xem xét, thông qua Nghị quyết về dự toán thu, chi ngân sách địa phương năm 2027.",
  "Ủy ban nhân dân tỉnh chịu trách nhiệm tổ chức thực hiện Nghị quyết này và báo cáo kết quả tại kỳ họp cuối năm.",
  "Thường trực Hội đồng nhân dân, các Ban và đại biểu Hội đồng nhân dân tỉnh giám sát việc thực hiện Nghị quyết.",
  "Nguồn cải cách tiền lương còn dư được bố trí cho các nhiệm vụ chi thường xuyên phát sinh trong năm.",
];

function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > COLS) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Lines of one page: a heading, then sentences picked by a seed. */
function pageLines(title: string, pageNo: number, seed: number): string[] {
  const lines = [...wrap(title.toUpperCase()), `Trang ${pageNo + 1}`, ""];
  let i = seed + pageNo * 3;
  while (lines.length < LINES_PER_PAGE) {
    const s = SENTENCES[i++ % SENTENCES.length] ?? "";
    lines.push(...wrap(s), "");
  }
  return lines.slice(0, LINES_PER_PAGE);
}

function layout(lines: string[]): TextPage {
  let text = "";
  const boxes: Box[] = [];
  lines.forEach((line, n) => {
    const base = TOP + n * LEADING; // baseline, from the top
    const b = H - (base + 3);
    const t = H - (base - 10);
    [...line].forEach((_, k) => {
      const x = LEFT + k * ADV;
      boxes.push([x, b, x + ADV, t]);
    });
    text += line;
    if (n < lines.length - 1) {
      text += "\n";
      const x = LEFT + line.length * ADV;
      boxes.push([x, b, x, b]);
    }
  });
  return { width: W, height: H, text, boxes };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function pageSvg(lines: string[], widthPx: number): string {
  const texts = lines
    .map((line, n) =>
      line
        ? `<text x="${LEFT}" y="${TOP + n * LEADING}" textLength="${(line.length * ADV).toFixed(1)}" lengthAdjust="spacingAndGlyphs">${escapeXml(line)}</text>`
        : "",
    )
    .join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.round(widthPx)}" height="${Math.round((widthPx * H) / W)}" viewBox="0 0 ${W} ${H}">` +
    `<rect width="${W}" height="${H}" fill="#fffdf8"/>` +
    `<g font-family="DejaVu Sans, sans-serif" font-size="${FONT}" fill="#1d1d1d" xml:space="preserve">${texts}</g>` +
    `</svg>`;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

function fold(s: string): string {
  return s.normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
}

interface DevPaper {
  meetingId: string;
  id: string;
  title: string;
  pages: string[][];
  sha256: string;
}

const HOUR = 3_600_000;

export class DevBackend implements Backend {
  #status: AppStatus;
  #meetings: MeetingDetail[];
  #papers = new Map<string, DevPaper>();
  #annotations = new Map<string, AnnotationView>();
  #listeners = new Map<BackendEventName, Set<(p: unknown) => void>>();

  constructor(params: URLSearchParams) {
    const joined = params.get("joined") === "1";
    this.#status = {
      joined,
      hubUrl: joined ? "https://192.0.2.10:8443" : null,
      person: joined ? { id: "p1", name: "Nguyễn Thị Lan" } : null,
      connection: params.get("offline") === "1" ? "offline" : "online",
      sync: { bytesDone: 3_400_000, bytesTotal: 5_200_000, papersDone: 3, papersTotal: 4 },
    };
    this.#meetings = this.#sampleMeetings();
    setInterval(() => this.#tick(), 1000);
  }

  #paper(meetingId: string, id: string, title: string, pages: number, seed: number, extra: Partial<AgendaItem["papers"][number]["latest"]> = {}) {
    const sha256 = [...fold(id + meetingId)].map((c) => c.charCodeAt(0).toString(16)).join("").padEnd(64, "0").slice(0, 64);
    this.#papers.set(id, {
      meetingId,
      id,
      title,
      sha256,
      pages: Array.from({ length: pages }, (_, n) => pageLines(title, n, seed)),
    });
    const size = pages * 180_000;
    return {
      id,
      title,
      confidential: false,
      versions: 1,
      latest: { version: 1, sha256, pages, size, downloaded: true, bytesDone: size, ...extra },
    };
  }

  #sampleMeetings(): MeetingDetail[] {
    const now = Date.now();
    const body = "HĐND tỉnh Bình Minh";
    const m1 = "m-ky-hop-5";
    const toTrinh = this.#paper(m1, "d-to-trinh-45", "Tờ trình số 45/TTr-UBND về dự toán ngân sách năm 2027", 14, 2);
    toTrinh.versions = 2;
    toTrinh.latest.version = 2;
    const thamTra = this.#paper(m1, "d-tham-tra", "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách", 8, 5, {
      downloaded: false,
      bytesDone: 600_000,
    });
    thamTra.confidential = true;
    return [
      {
        id: m1,
        body,
        title: "Kỳ họp thứ 5 (kỳ họp chuyên đề)",
        startsAt: now - 2 * HOUR,
        place: "Hội trường A, Trụ sở HĐND tỉnh",
        status: "in_session",
        currentItem: "i2-1",
        agenda: [
          {
            id: "i1",
            number: "1",
            depth: 0,
            title: "Khai mạc kỳ họp",
            presenter: "Chủ tọa kỳ họp",
            plannedMinutes: 10,
            papers: [this.#paper(m1, "d-chuong-trinh", "Chương trình kỳ họp thứ 5", 2, 0)],
          },
          { id: "i2", number: "2", depth: 0, title: "Báo cáo và tờ trình", presenter: "", plannedMinutes: 0, papers: [] },
          {
            id: "i2-1",
            number: "2.1",
            depth: 1,
            title: "Tờ trình về dự toán ngân sách địa phương năm 2027",
            presenter: "Phó Chủ tịch UBND tỉnh Trần Văn Minh",
            plannedMinutes: 30,
            papers: [toTrinh, this.#paper(m1, "d-du-thao-nq", "Dự thảo Nghị quyết về dự toán ngân sách năm 2027", 6, 6)],
          },
          {
            id: "i2-2",
            number: "2.2",
            depth: 1,
            title: "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách",
            presenter: "Trưởng Ban Kinh tế - Ngân sách Lê Thị Hoa",
            plannedMinutes: 20,
            papers: [thamTra],
          },
          {
            id: "i3",
            number: "3",
            depth: 0,
            title: "Thảo luận và biểu quyết thông qua Nghị quyết",
            presenter: "Chủ tọa kỳ họp",
            plannedMinutes: 45,
            papers: [],
          },
          { id: "i4", number: "4", depth: 0, title: "Bế mạc kỳ họp", presenter: "Chủ tọa kỳ họp", plannedMinutes: 10, papers: [] },
        ],
      },
      {
        id: "m-ky-hop-6",
        body,
        title: "Kỳ họp thứ 6 (kỳ họp thường lệ cuối năm)",
        startsAt: now + 9 * 24 * HOUR,
        place: "Hội trường A, Trụ sở HĐND tỉnh",
        status: "published",
        currentItem: null,
        agenda: [
          {
            id: "j1",
            number: "1",
            depth: 0,
            title: "Báo cáo kết quả giám sát năm 2027",
            presenter: "Thường trực HĐND tỉnh",
            plannedMinutes: 40,
            papers: [this.#paper("m-ky-hop-6", "d-giam-sat", "Báo cáo kết quả giám sát", 4, 3)],
          },
        ],
      },
      {
        id: "m-ky-hop-4",
        body,
        title: "Kỳ họp thứ 4",
        startsAt: now - 60 * 24 * HOUR,
        place: "Hội trường B",
        status: "closed",
        currentItem: null,
        agenda: [],
      },
    ];
  }

  #emit<E extends BackendEventName>(event: E, payload: BackendEvents[E]): void {
    for (const h of this.#listeners.get(event) ?? []) h(payload);
  }

  /** Simulated download of the one paper not yet on this device. */
  #tick(): void {
    if (!this.#status.joined || this.#status.connection === "offline") return;
    for (const m of this.#meetings) {
      for (const item of m.agenda) {
        for (const p of item.papers) {
          const v = p.latest;
          if (v.downloaded) continue;
          v.bytesDone = Math.min(v.size, v.bytesDone + 90_000);
          this.#status.sync.bytesDone = Math.min(this.#status.sync.bytesTotal, this.#status.sync.bytesDone + 90_000);
          if (v.bytesDone >= v.size) {
            v.downloaded = true;
            this.#status.sync = { ...this.#status.sync, bytesDone: this.#status.sync.bytesTotal, papersDone: this.#status.sync.papersTotal };
          }
          this.#emit("sync-progress", { ...this.#status.sync });
          this.#emit("meeting-changed", { meetingId: m.id });
          return;
        }
      }
    }
  }

  async appStatus(): Promise<AppStatus> {
    return structuredClone(this.#status);
  }

  async join(invite: string): Promise<AppStatus> {
    await new Promise((r) => setTimeout(r, 400));
    const code = invite.trim();
    if (!code.startsWith("PH1-")) throw new BackendError("bad_invite", "invite does not start with PH1-");
    if (code === "PH1-USED") throw new BackendError("invite_unknown", "invite already used");
    if (code === "PH1-DOWN") throw new BackendError("hub_unreachable", "connect 192.0.2.10:8443: timed out");
    if (code === "PH1-MITM") throw new BackendError("certificate_mismatch", "fingerprint differs");
    this.#status = { ...this.#status, joined: true, hubUrl: "https://192.0.2.10:8443", person: { id: "p1", name: "Nguyễn Thị Lan" } };
    return structuredClone(this.#status);
  }

  async listMeetings(): Promise<MeetingSummary[]> {
    return this.#meetings.map(({ agenda: _agenda, ...s }) => structuredClone(s));
  }

  async getMeeting(meetingId: string): Promise<MeetingDetail> {
    const m = this.#meetings.find((x) => x.id === meetingId);
    if (!m) throw new BackendError("not_found", `no meeting ${meetingId}`);
    return structuredClone(m);
  }

  async getPaperText(_meetingId: string, documentId: string, _version: number): Promise<PaperText> {
    const p = this.#papers.get(documentId);
    if (!p) throw new BackendError("not_found", `no paper ${documentId}`);
    return { pages: p.pages.map(layout) };
  }

  pageUrl(sha256: string, page: number, widthPx: number): string {
    for (const p of this.#papers.values()) {
      if (p.sha256 === sha256) return pageSvg(p.pages[page] ?? [], widthPx);
    }
    return pageSvg([], widthPx);
  }

  async search(query: string, meetingId: string | null): Promise<SearchHit[]> {
    const q = fold(query.trim());
    if (q.length < 2) return [];
    const hits: SearchHit[] = [];
    for (const p of this.#papers.values()) {
      if (meetingId && p.meetingId !== meetingId) continue;
      p.pages.forEach((lines, page) => {
        const tp = layout(lines);
        // Folding can change length (NFD), so fold character by character.
        const chars = [...tp.text];
        const folded = chars.map(fold);
        const flat = folded.join("");
        const starts: number[] = [];
        folded.reduce((acc, f, i) => ((starts[i] = acc), acc + f.length), 0);
        let from = 0;
        for (;;) {
          const at = flat.indexOf(q, from);
          if (at < 0 || hits.length > 50) break;
          from = at + q.length;
          const first = starts.findIndex((s) => s >= at);
          let last = first;
          while (last < chars.length && (starts[last] ?? 0) < at + q.length) last++;
          const before = chars.slice(Math.max(0, first - 40), first).join("").replace(/\n/g, " ");
          const match = chars.slice(first, last).join("");
          const after = chars.slice(last, last + 40).join("").replace(/\n/g, " ");
          hits.push({
            meetingId: p.meetingId,
            documentId: p.id,
            version: 1,
            page,
            snippet: `…${before}«${match}»${after}…`,
            boxes: tp.boxes.slice(first, last),
          });
        }
      });
    }
    await new Promise((r) => setTimeout(r, 120));
    return hits;
  }

  async listAnnotations(_meetingId: string, documentId: string): Promise<AnnotationView[]> {
    return [...this.#annotations.values()].filter((a) => a.documentId === documentId).map((a) => structuredClone(a));
  }

  async saveAnnotation(meetingId: string, annotation: AnnotationView): Promise<AnnotationView> {
    const stored: AnnotationView = { ...structuredClone(annotation), state: "saved", updatedAt: Date.now() };
    this.#annotations.set(stored.id, stored);
    if (this.#status.connection === "online") {
      setTimeout(() => {
        const cur = this.#annotations.get(stored.id);
        if (!cur) return;
        cur.state = "sent";
        this.#emit("annotations-changed", { meetingId, documentId: cur.documentId });
      }, 1500);
    }
    return structuredClone(stored);
  }

  async deleteAnnotation(_meetingId: string, annotationId: string): Promise<void> {
    this.#annotations.delete(annotationId);
  }

  async exportAnnotated(_meetingId: string, documentId: string, version: number): Promise<string> {
    return `/home/daibieu/Tài liệu/Phonghop/${documentId}-v${version}-ghi-chu.pdf`;
  }

  async on<E extends BackendEventName>(event: E, handler: (payload: BackendEvents[E]) => void): Promise<Unsubscribe> {
    const set = this.#listeners.get(event) ?? new Set();
    const h = handler as (p: unknown) => void;
    set.add(h);
    this.#listeners.set(event, set);
    return () => set.delete(h);
  }
}
