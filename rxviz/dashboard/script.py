"""What the page needs that ipywidgets cannot do: scroll, and say an upload button's name alone.

* "See the summary" adds the lesson's summary under the pictures, below the fold on a projector:
  [`PageScript.scroll_to`][rxviz.dashboard.script.PageScript.scroll_to] brings it up.
* ipywidgets 8's FileUpload writes the number of files it holds into its button's text ("Upload
  X-ray (0)"): a count no one asked for, and a wrong one, since the dashboard empties the widget
  after reading it. The script takes it out of the buttons named in ``plain_buttons``, as often
  as the widget writes it back.

One hidden widget per dashboard; it draws nothing.
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  el.style.display = "none";
  const plain = () => {
    for (const selector of model.get("plain_buttons"))
      for (const button of document.querySelectorAll(selector))
        for (const node of button.childNodes)
          if (node.nodeType === Node.TEXT_NODE && / \\(\\d+\\)$/.test(node.data)) node.data = node.data.replace(/ \\(\\d+\\)$/, "");
  };
  const observer = new MutationObserver(plain);
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  plain();
  model.on("msg:custom", (message) => {
    // the element's own widget may render a moment after this message: look for it a few frames
    let frames = 0;
    const look = () => {
      const target = document.querySelector(message.selector);
      if (target) target.scrollIntoView({ block: "start", behavior: "smooth" });
      else if (frames++ < 60) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  return () => observer.disconnect();
}
export default { render };
"""


class PageScript(anywidget.AnyWidget):
    """A hidden widget: [`scroll_to`][rxviz.dashboard.script.PageScript.scroll_to] brings an element into view; the FileUpload buttons
    matched by ``plain_buttons`` (CSS selectors) show their description without a file count."""

    _esm = _ESM
    plain_buttons = traitlets.List(traitlets.Unicode(), [".rx-upload", ".rx-lesson-zip"]).tag(sync=True)

    def scroll_to(self, selector: str) -> None:
        """Scroll the page until ``selector``'s first element is at the top of the view."""
        self.send({"selector": selector})
