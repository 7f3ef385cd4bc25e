// The secretariat's contract with src-tauri (src-tauri/src/secretariat.rs):
// a hub embedded in this app, and the commands behind the secretariat's
// screens. Kept apart from `Backend` (the delegate's contract): a delegate's
// screens never see these methods.

import { toBackendError, type TauriTransport, type Unsubscribe } from "./backend";

export interface ServeSettings {
  port: number;
  /** Open to the room's network (HTTPS, pinned certificate) instead of this computer only. */
  lan: boolean;
}

export interface SecStatus {
  hub: boolean;
  /** `external`: served by a `phonghop hub` on this computer, not by this app. */
  serving: { settings: ServeSettings; inviteAddress: string; external: boolean } | null;
  error: { code: string; message: string } | null;
}

export type Access = "public" | "members" | "named";
export type RoleCode = "secretariat" | "chair" | "delegate" | "observer";
export const ROLES: readonly RoleCode[] = ["chair", "delegate", "observer", "secretariat"];

export interface SecPaper {
  id: string;
  title: string;
  fileName: string;
  versions: number;
  pages: number | null;
  size: number;
  confidentiality: Access;
  readers: string[];
}

export interface SecItem {
  id: string;
  number: string;
  depth: number;
  parent: string | null;
  position: number;
  siblings: number;
  title: string;
  presenter: string;
  plannedMinutes: number | null;
  papers: SecPaper[];
}

export interface SecMember {
  person: string;
  name: string;
  role: RoleCode;
}

export interface SecMeeting {
  id: string;
  body: string;
  title: string;
  startsAt: number | null;
  place: string;
  status: "draft" | "published" | "in_session" | "closed";
  agenda: SecItem[];
  loosePapers: SecPaper[];
  members: SecMember[];
  /** A ballot from a member not checked in: voting checks them in, or it is refused. */
  uncheckedBallot: UncheckedBallot;
  /** How long delegates' devices keep the pack. */
  retention: Retention;
  /** PDFs saved in this folder are attached by the hub (same name: a new version). */
  inbox: string;
}

export type UncheckedBallot = "check_in" | "refuse";

/** A meeting's retention rule; null: no such rule. Devices enforce it on their own clock. */
export interface Retention {
  /** Delete the pack from devices this many days after the session closes. */
  deleteAfterDays: number | null;
  /** Lock the pack on a device that has not reached the hub for this many days. */
  lockAfterOfflineDays: number | null;
  /** The app asks for its PIN after this many idle minutes. */
  idleLockMinutes: number | null;
}

export interface SecDevice {
  id: string;
  label: string;
  pairedAt: number;
  revokedAt: number | null;
}

export interface SecPerson {
  id: string;
  name: string;
  title: string;
  unit: string;
  devices: SecDevice[];
}

export interface SecOverview {
  meetings: SecMeeting[];
  people: SecPerson[];
}

export interface MeetingForm {
  id: string | null;
  /** For a new meeting: a short code used as its id (names its inbox folder); generated when empty. */
  code?: string;
  body: string;
  title: string;
  startsAt: number | null;
  place: string;
  /** Absent: unchanged (a new meeting: "check_in"). Fixed once the session opens. */
  uncheckedBallot?: UncheckedBallot;
  /** Absent: unchanged. */
  retention?: Retention;
}

/** One person read from a spreadsheet; `line` as the spreadsheet numbers rows. */
export interface SheetPerson {
  line: number;
  name: string;
  title: string | null;
  unit: string | null;
  code: string | null;
}

/** A row left out of an import, and why. */
export interface RowProblem {
  line: number;
  problem: "no_name" | "bad_code" | "duplicate_code" | "duplicate_name";
  /** The name or code at fault. */
  value: string;
}

export interface PeopleSheet {
  people: SheetPerson[];
  problems: RowProblem[];
}

/** A checked list, shown before it is imported. */
export interface PeoplePreview {
  path: string;
  sheet: PeopleSheet;
}

export interface SecInvite {
  code: string;
  /** The full invite (`phonghop:CODE@host:port/fingerprint`): pasted, or scanned from the QR code. */
  invite: string;
  /** `host:port`, typed with the code when the hub is not found on the network by itself. */
  hubAddress: string;
  /** The invite as a QR code, SVG. */
  qrSvg: string;
  expiresAt: number;
}

export interface ImportProgress {
  file: string;
  index: number;
  total: number;
  stage: "analysing" | "storing" | "done" | "failed";
  error: { code: string; message: string } | null;
}

export interface ImportResult {
  file: string;
  paper: string | null;
  error: { code: string; message: string } | null;
}

export interface SecretariatApi {
  status(): Promise<SecStatus>;
  createHub(settings: ServeSettings): Promise<SecStatus>;
  serve(settings: ServeSettings): Promise<SecStatus>;
  /** Works on the folder of a `phonghop hub` running on this computer. */
  attachHub(folder: string): Promise<SecStatus>;
  overview(): Promise<SecOverview>;
  /** Shows the meeting's inbox folder in the system's file manager. */
  showInbox(meeting: string): Promise<void>;
  /** Returns the meeting's id (new or edited). */
  saveMeeting(form: MeetingForm): Promise<string>;
  /** Adds at the end of `parent`'s items; returns the new number. */
  addItem(meeting: string, parent: string | null, title: string, presenter: string, plannedMinutes: number | null): Promise<string>;
  moveItem(meeting: string, number: string, parent: string | null, position: number): Promise<void>;
  editItem(meeting: string, number: string, title: string, presenter: string, plannedMinutes: number | null): Promise<void>;
  /** `code`: the person's id on the hub (e.g. a delegate number); generated when empty. */
  addPerson(name: string, title: string, unit: string, code?: string): Promise<string>;
  addMember(meeting: string, person: string, role: RoleCode): Promise<void>;
  publish(meeting: string): Promise<void>;
  invite(person: string): Promise<SecInvite>;
  /** Cancels the person's unused invites: they no longer pair. */
  cancelInvites(person: string): Promise<void>;
  revokeDevice(device: string): Promise<void>;
  /** The system file picker; [] when cancelled. */
  pickPdfs(): Promise<string[]>;
  /** The system's file picker for a spreadsheet of people; null if cancelled. */
  pickPeopleFile(): Promise<string | null>;
  /** Reads and checks a list of people; writes nothing. The screen gets it through onPeoplePreview. */
  previewPeople(path: string): Promise<PeoplePreview>;
  onPeoplePreview(handler: (p: PeoplePreview) => void): Promise<Unsubscribe>;
  /** Adds every row without a problem, together. */
  importPeople(path: string): Promise<PeopleSheet>;
  addPapers(meeting: string, item: string | null, paths: string[], access: Access, readers: string[]): Promise<ImportResult[]>;
  addVersion(meeting: string, paper: string, path: string): Promise<number>;
  retitlePaper(meeting: string, paper: string, title: string): Promise<void>;
  onImport(handler: (p: ImportProgress) => void): Promise<Unsubscribe>;
  /** Files dropped on the window from the desktop (paths, position in CSS pixels). */
  onFileDrop(handler: (paths: string[], x: number, y: number) => void): Promise<Unsubscribe>;
}

/** Native file drops, from @tauri-apps/api/webview, injectable for tests. */
export type DropSource = (handler: (paths: string[], x: number, y: number) => void) => Promise<Unsubscribe>;

export class TauriSecretariat implements SecretariatApi {
  readonly #t: TauriTransport;
  readonly #drops: DropSource;

  constructor(transport: TauriTransport, drops: DropSource) {
    this.#t = transport;
    this.#drops = drops;
  }

  async #call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
    try {
      return await this.#t.invoke<T>(command, args);
    } catch (e) {
      throw toBackendError(e);
    }
  }

  status() {
    return this.#call<SecStatus>("sec_status");
  }
  createHub(settings: ServeSettings) {
    return this.#call<SecStatus>("sec_create_hub", { settings });
  }
  serve(settings: ServeSettings) {
    return this.#call<SecStatus>("sec_serve", { settings });
  }
  attachHub(folder: string) {
    return this.#call<SecStatus>("sec_attach_hub", { folder });
  }
  overview() {
    return this.#call<SecOverview>("sec_overview");
  }
  showInbox(meeting: string) {
    return this.#call<void>("sec_show_inbox", { meetingId: meeting });
  }
  saveMeeting(form: MeetingForm) {
    return this.#call<string>("sec_save_meeting", { form });
  }
  addItem(meeting: string, parent: string | null, title: string, presenter: string, plannedMinutes: number | null) {
    return this.#call<string>("sec_add_item", { meeting, parent, title, presenter, plannedMinutes });
  }
  moveItem(meeting: string, number: string, parent: string | null, position: number) {
    return this.#call<void>("sec_move_item", { meeting, number, parent, position });
  }
  editItem(meeting: string, number: string, title: string, presenter: string, plannedMinutes: number | null) {
    return this.#call<void>("sec_edit_item", { meeting, number, title, presenter, plannedMinutes });
  }
  addPerson(name: string, title: string, unit: string, code = "") {
    return this.#call<string>("sec_add_person", { name, title, unit, code });
  }
  addMember(meeting: string, person: string, role: RoleCode) {
    return this.#call<void>("sec_add_member", { meeting, person, role });
  }
  publish(meeting: string) {
    return this.#call<void>("sec_publish", { meeting });
  }
  invite(person: string) {
    return this.#call<SecInvite>("sec_invite", { person });
  }
  cancelInvites(person: string) {
    return this.#call<void>("sec_cancel_invites", { person });
  }
  revokeDevice(device: string) {
    return this.#call<void>("sec_revoke_device", { device });
  }
  pickPdfs() {
    return this.#call<string[]>("sec_pick_pdfs");
  }
  pickPeopleFile() {
    return this.#call<string | null>("sec_pick_people_file");
  }
  previewPeople(path: string) {
    return this.#call<PeoplePreview>("sec_preview_people", { path });
  }
  onPeoplePreview(handler: (p: PeoplePreview) => void) {
    return this.#t.listen<PeoplePreview>("people-preview", (e) => handler(e.payload));
  }
  importPeople(path: string) {
    return this.#call<PeopleSheet>("sec_import_people", { path });
  }
  addPapers(meeting: string, item: string | null, paths: string[], access: Access, readers: string[]) {
    return this.#call<ImportResult[]>("sec_add_papers", { meeting, item, paths, access: { kind: access, readers } });
  }
  addVersion(meeting: string, paper: string, path: string) {
    return this.#call<number>("sec_add_version", { meeting, paper, path });
  }
  retitlePaper(meeting: string, paper: string, title: string) {
    return this.#call<void>("sec_retitle_paper", { meeting, paper, title });
  }
  onImport(handler: (p: ImportProgress) => void) {
    return this.#t.listen<ImportProgress>("paper-import", (e) => handler(e.payload));
  }
  onFileDrop(handler: (paths: string[], x: number, y: number) => void) {
    return this.#drops(handler);
  }
}

/** Moving an item one place up or down among its siblings: the new position, or null at an end. */
export function nudge(item: Pick<SecItem, "position" | "siblings">, delta: -1 | 1): number | null {
  const to = item.position + delta;
  return to < 1 || to > item.siblings ? null : to;
}

/**
 * Where a dragged item lands when dropped on `target`: only among the same
 * parent's items (a drag does not change the tree's shape), at the
 * target's place. Null when the drop changes nothing or is not allowed.
 */
export function dropPosition(dragged: SecItem, target: SecItem): number | null {
  if (dragged.parent !== target.parent || dragged.id === target.id) return null;
  return target.position;
}

/** A name compared as people read it: case, diacritics and spacing aside. */
export function nameKey(name: string): string {
  return name
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/[đĐ]/g, "d")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

/** The people already listed under the same name, if any. */
export function sameName(people: { name: string }[], name: string): string[] {
  const key = nameKey(name);
  return key === "" ? [] : people.filter((p) => nameKey(p.name) === key).map((p) => p.name);
}

/**
 * A meeting's start as the secretariat types it, "22/12/2026" and "08:00"
 * (day first, 24-hour, Vietnam time: UTC+7, no daylight saving), whatever
 * the computer's own locale and time zone ↔ epoch milliseconds.
 */
const VN_OFFSET_MS = 7 * 3_600_000;
const pad2 = (n: number) => String(n).padStart(2, "0");

export function toVnFields(ms: number | null): { date: string; time: string } {
  if (ms === null) return { date: "", time: "" };
  const d = new Date(ms + VN_OFFSET_MS);
  return {
    date: `${pad2(d.getUTCDate())}/${pad2(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`,
    time: `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`,
  };
}

/** The field at fault, or the time (null when both fields are empty). */
export type VnTime = { ok: true; ms: number | null } | { ok: false; field: "date" | "time" };

export function fromVnFields(date: string, time: string): VnTime {
  const ds = date.trim();
  const ts = time.trim();
  if (ds === "" && ts === "") return { ok: true, ms: null };
  const dm = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(ds);
  if (!dm) return { ok: false, field: "date" };
  const [day, month, year] = [Number(dm[1]), Number(dm[2]), Number(dm[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (year < 2000 || probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) {
    return { ok: false, field: "date" };
  }
  const tm = /^(\d{1,2})[:hH.](\d{2})$/.exec(ts);
  if (!tm) return { ok: false, field: "time" };
  const [hour, minute] = [Number(tm[1]), Number(tm[2])];
  if (hour > 23 || minute > 59) return { ok: false, field: "time" };
  return { ok: true, ms: Date.UTC(year, month - 1, day, hour, minute) - VN_OFFSET_MS };
}

export async function createTauriSecretariat(): Promise<SecretariatApi> {
  const [core, ev, wv] = await Promise.all([
    import("@tauri-apps/api/core"),
    import("@tauri-apps/api/event"),
    import("@tauri-apps/api/webview"),
  ]);
  const drops: DropSource = (handler) =>
    wv.getCurrentWebview().onDragDropEvent((e) => {
      if (e.payload.type !== "drop") return;
      const dpr = window.devicePixelRatio || 1;
      handler(e.payload.paths, e.payload.position.x / dpr, e.payload.position.y / dpr);
    });
  return new TauriSecretariat(
    { invoke: core.invoke, listen: (name, handler) => ev.listen(name, handler), convertFileSrc: core.convertFileSrc },
    drops,
  );
}
