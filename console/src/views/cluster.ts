// The cluster view: members (leader marked) with each one's own status, alarms with disarm, and the proxies.
import { Code, EtcdError, type Alarm, type Member, type StatusResponse } from "etcd-connect";
import type { App } from "../app.js";
import { h, replaceChildren } from "../dom.js";
import { describeError } from "../errors.js";
import { formatSize, hexId } from "../format.js";
import { confirmAction, showInfo } from "../ui.js";
import { defragmentMember, maintenanceSection } from "./maintenance.js";

/** How often members are asked for their status. */
const REFRESH_MS = 2000;

/** A member's status, or why it could not be read. */
type MemberStatus = { ok: true; status: StatusResponse; via: string } | { ok: false; error: unknown; notProxied?: boolean };

/** Mounts the view; the returned function unmounts it. */
export function clusterView(app: App, root: HTMLElement): () => void {
  const summary = h("div", { class: "cluster-summary", "data-testid": "cluster-summary" }, "loading…");
  const members = h("tbody");
  const alarms = h("div", { "data-testid": "alarms" });
  const proxies = h("tbody");
  let stopped = false;
  let running = false;

  /** The proxy refuses a pinned call to a URL it was not configured with (see the proxy's x-etcd-endpoint). */
  const notProxied = (err: unknown) => err instanceof EtcdError && err.code === Code.FailedPrecondition;
  const statusOf = async (member: Member): Promise<MemberStatus> => {
    let last: unknown = new Error("the member has no client URL");
    for (const url of member.clientURLs) {
      try {
        const status = await app.memberClient(url).maintenance.status();
        // A proxy that ignores x-etcd-endpoint (not etcd-connect's) answers from any member: do not show that.
        if (status.header.memberId !== member.id) return { ok: false, error: new Error("the proxy did not route the call to this member"), notProxied: true };
        return { ok: true, status, via: url };
      } catch (err) {
        last = err;
        // Not served by this proxy: try the member's next client URL.
        if (!notProxied(err)) return { ok: false, error: err };
      }
    }
    return { ok: false, error: last, notProxied: notProxied(last) };
  };

  const refresh = async () => {
    if (running || stopped) return;
    running = true;
    try {
      const list = await app.client.cluster.memberList();
      // By name (etcd lists by ID); members not started yet have none and go last.
      list.members.sort((a, b) => (a.name || "\uffff").localeCompare(b.name || "\uffff"));
      const statuses = await Promise.all(list.members.map(statusOf));
      if (stopped) return;
      // The leader as the members see it (any answering member knows it).
      const leader = statuses.find((s): s is Extract<MemberStatus, { ok: true }> => s.ok && s.status.leader !== 0n)?.status.leader;
      const term = statuses.reduce((t, s) => (s.ok && s.status.raftTerm > t ? s.status.raftTerm : t), 0n);
      const up = statuses.filter((s) => s.ok).length;
      replaceChildren(
        summary,
        h("span", null, "cluster ", h("code", null, hexId(list.header.clusterId))),
        h("span", null, `${list.members.length} members, ${up} answering`),
        h("span", null, leader ? ["leader ", h("code", null, hexId(leader))] : h("strong", { class: "bad" }, "no leader")),
        h("span", null, `raft term ${term}`),
      );
      replaceChildren(
        members,
        list.members.map((m, i) => memberRow(m, statuses[i]!, leader)),
      );
      try {
        renderAlarms(await app.client.maintenance.alarms(), list.members);
      } catch (err) {
        // Listing alarms is the same RPC as disarming, which a read-only proxy refuses: say so in place rather than
        // as a notice every 2 s.
        if (!(err instanceof EtcdError && err.kind === "permission-denied" && /read-only/.test(err.message))) throw err;
        replaceChildren(alarms, h("p", { class: "muted" }, "Alarms cannot be read through a read-only proxy."));
      }
      renderProxies();
    } catch (err) {
      if (!stopped) app.handleError(err, "reading the cluster");
      // Never read yet: say so rather than "loading…" for good.
      if (summary.textContent === "loading…") replaceChildren(summary, h("span", { class: "bad" }, "The member list could not be read (see the notice); retrying."));
      renderProxies();
    } finally {
      running = false;
    }
  };

  const memberRow = (m: Member, s: MemberStatus, leader: bigint | undefined) => {
    const isLeader = leader !== undefined && m.id === leader;
    const state = s.ok ? (s.status.errors.length ? "degraded" : "healthy") : s.notProxied ? "not proxied" : "unreachable";
    const cells = s.ok
      ? [
          h("td", null, s.status.version),
          h("td", { class: "nowrap" }, formatSize(s.status.dbSize), h("span", { class: "muted" }, ` (${formatSize(s.status.dbSizeInUse)} in use)`)),
          h("td", null, String(s.status.raftIndex)),
          h("td", null, String(s.status.raftTerm)),
          h("td", { class: "errors" }, s.status.errors.join("; ")),
          h("td", null, h("button", { onclick: () => void defragmentMember(app, m.name || hexId(m.id), app.memberClient(s.via), s.status.dbSize) }, "Defragment")),
        ]
      : [
          h(
            "td",
            { colspan: 6, class: "bad" },
            s.notProxied
              ? "not reachable through this proxy (add its client URL to the proxy's endpoints)"
              : ["does not answer: ", describeError(s.error).detail, " ", h("code", { class: "kind" }, describeError(s.error).kind)],
          ),
        ];
    return h(
      "tr",
      { "data-member": m.name || hexId(m.id), "data-state": state, class: isLeader ? "leader" : undefined },
      h("td", null, m.name || h("span", { class: "muted" }, "(not started)"), isLeader ? h("span", { class: "badge leader", "data-testid": "leader" }, "leader") : null, m.isLearner ? h("span", { class: "badge" }, "learner") : null),
      h("td", null, h("code", null, hexId(m.id))),
      h("td", null, h("span", { class: `state ${state.replace(" ", "-")}` }, state)),
      h("td", { class: "urls" }, m.clientURLs.join(" ")),
      h("td", { class: "urls" }, m.peerURLs.join(" ")),
      cells,
    );
  };

  const renderAlarms = (active: Alarm[], list: Member[]) => {
    const name = (id: bigint) => list.find((m) => m.id === id)?.name || hexId(id);
    replaceChildren(
      alarms,
      active.length === 0
        ? h("p", { class: "muted" }, "No alarms.")
        : h(
            "ul",
            { class: "alarms" },
            active.map((a) =>
              h("li", null, h("span", { class: "badge bad" }, a.alarm), ` on member ${name(a.memberId)} `, h("button", { onclick: () => void disarm(a, name(a.memberId)) }, "Disarm")),
            ),
          ),
    );
  };
  const disarm = async (alarm: Alarm, member: string) => {
    if (!(await confirmAction("Disarm alarm", h("p", null, `Disarm ${alarm.alarm} on member ${member}? If its cause remains, etcd raises it again.`), "Disarm"))) return;
    try {
      await app.client.maintenance.disarm(alarm);
      showInfo(`Disarmed ${alarm.alarm} on ${member}`);
      void refresh();
    } catch (err) {
      app.handleError(err, "disarming");
    }
  };

  const renderProxies = () => {
    replaceChildren(
      proxies,
      app.client.endpointStates().map((s) => h("tr", null, h("td", null, s.endpoint), h("td", null, h("span", { class: `state ${s.state}` }, s.state)), h("td", { class: "muted" }, s.error ?? ""))),
    );
  };

  replaceChildren(
    root,
    h(
      "div",
      { class: "cluster-view" },
      h("div", { class: "toolbar" }, h("h2", null, "Cluster"), summary),
      h(
        "table",
        { class: "grid", "data-testid": "members" },
        h("thead", null, h("tr", null, ...["Name", "ID", "State", "Client URLs", "Peer URLs", "Version", "DB size", "Raft index", "Raft term", "Errors", ""].map((t) => h("th", null, t)))),
        members,
      ),
      h("h3", null, "Alarms"),
      alarms,
      h("h3", null, "Maintenance"),
      maintenanceSection(app),
      h("h3", null, "Proxies used by this console"),
      h("table", { class: "grid compact" }, h("thead", null, h("tr", null, h("th", null, "Endpoint"), h("th", null, "State"), h("th", null, ""))), proxies),
    ),
  );
  void refresh();
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
