// jsdom lacks a few browser APIs the components use; these stand-ins behave like the browser's.
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => cleanup());

if (!HTMLDialogElement.prototype.showModal) {
  HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
    this.open = true;
  };
  HTMLDialogElement.prototype.close = function close(this: HTMLDialogElement, value?: string) {
    if (value !== undefined) this.returnValue = value;
    this.open = false;
    this.dispatchEvent(new Event("close"));
  };
}

// A form with method="dialog" closes its dialog with the submitting button's value (jsdom leaves it open).
document.addEventListener("submit", (event) => {
  const form = event.target as HTMLFormElement;
  if (form.getAttribute("method") !== "dialog") return;
  event.preventDefault();
  const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
  form.closest("dialog")?.close(submitter?.value ?? "");
});

// The export button hands the browser its file through an object URL: keep each blob for the tests to read.
export const createdBlobs: Blob[] = [];
URL.createObjectURL = (blob: Blob) => {
  createdBlobs.push(blob);
  return `blob:test/${createdBlobs.length}`;
};
URL.revokeObjectURL = () => {};
// jsdom's anchor.click() tries to navigate (and says it cannot); a browser saves a download link's file.
HTMLAnchorElement.prototype.click = function click() {};
