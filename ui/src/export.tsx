import type { MouseEvent, ReactNode } from "react";

import type { TelemetryClient } from "./client";
import { useNotices } from "./notices";

/**
 * The export as a download link. On the service's own page it is a plain link (the cookie goes along);
 * with a token the link cannot carry the header, so a click fetches the file and hands it to the browser.
 */
export function ExportLink({ client, startNs, id, className, children }: {
  client: TelemetryClient;
  startNs?: number | null;
  id?: string;
  className?: string;
  children: ReactNode;
}) {
  const notices = useNotices();
  async function download(event: MouseEvent<HTMLAnchorElement>) {
    if (!client.token) return;
    event.preventDefault();
    try {
      const { blob, filename } = await client.exportBlob(startNs);
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      notices.fail("Could not export the data", err);
    }
  }
  return (
    <a className={className} id={id} href={client.exportUrl(startNs)} download onClick={download}>
      {children}
    </a>
  );
}
