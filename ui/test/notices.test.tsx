// An announcement is spoken a tick after it is made (so screen readers repeat a same text); a provider
// that goes away first must take its pending tick with it, or it fires into a torn-down page.
import { act, render } from "@testing-library/react";
import { useEffect } from "react";
import { afterEach, expect, it, vi } from "vitest";

import { NoticeProvider, useNotices } from "../src/notices";

afterEach(() => {
  vi.useRealTimers();
});

function Announces({ text }: { text: string }) {
  const { announce } = useNotices();
  useEffect(() => announce(text), [announce, text]);
  return null;
}

it("speaks an announcement a tick later", () => {
  vi.useFakeTimers();
  render(
    <NoticeProvider>
      <Announces text="Saved" />
    </NoticeProvider>,
  );
  const live = document.querySelector('[role="status"]');
  expect(live?.textContent).toBe("");
  act(() => vi.advanceTimersByTime(50));
  expect(live?.textContent).toBe("Saved");
});

it("leaves no pending announcement behind when it unmounts", () => {
  vi.useFakeTimers();
  const view = render(
    <NoticeProvider>
      <Announces text="Saved" />
    </NoticeProvider>,
  );
  expect(vi.getTimerCount()).toBe(1);
  view.unmount();
  expect(vi.getTimerCount()).toBe(0);
});
