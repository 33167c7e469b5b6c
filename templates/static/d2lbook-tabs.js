/* d2lbook framework tabs.
 *
 * Runs of consecutive framework-specific blocks (code cells tagged d2l-tab-<tab>,
 * which myst-nb renders as `.cell.tag_d2l-tab-<tab>`, and text containers
 * `.d2l-tab.d2l-tab-<tab>`) become one tab group with a button bar. Choosing a
 * framework switches every group on the page and is remembered in localStorage,
 * so other pages and reloads show it too. The default tab is the first one in
 * <meta name="d2lbook-tabs" content="pytorch,numpy">, else the first seen.
 * No dependencies; works without storage (falls back to the default tab).
 */
(function () {
  "use strict";

  var STORAGE_KEY = "d2lbook-tab";
  var CODE_PREFIX = "tag_d2l-tab-";
  var TEXT_PREFIX = "d2l-tab-";
  var NICE_NAMES = {
    pytorch: "PyTorch",
    mxnet: "MXNet",
    jax: "JAX",
    tensorflow: "TensorFlow",
    numpy: "NumPy"
  };
  var groups = [];

  function niceName(tab) {
    return Object.prototype.hasOwnProperty.call(NICE_NAMES, tab) ? NICE_NAMES[tab] : tab;
  }

  function configuredTabs() {
    var meta = document.querySelector('meta[name="d2lbook-tabs"]');
    if (!meta) {
      return [];
    }
    return (meta.getAttribute("content") || "").split(",").map(function (name) {
      return name.trim();
    }).filter(Boolean);
  }

  function readStoredTab() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return null;  // storage disabled or blocked: the default tab is used
    }
  }

  function storeTab(tab) {
    try {
      window.localStorage.setItem(STORAGE_KEY, tab);
    } catch (error) {
      // storage unavailable: the choice lasts for this page only
    }
  }

  /* The tabs an element belongs to: [] when it is not a tab element. */
  function tabsOf(element) {
    var names = [];
    var isCell = element.classList.contains("cell");
    var isText = element.classList.contains("d2l-tab");
    Array.prototype.forEach.call(element.classList, function (name) {
      var tab = null;
      if (isCell && name.indexOf(CODE_PREFIX) === 0) {
        tab = name.slice(CODE_PREFIX.length);
      } else if (isText && name.indexOf(TEXT_PREFIX) === 0) {
        tab = name.slice(TEXT_PREFIX.length);
      }
      tab = tab && tab.replace(/,+$/, "");
      if (tab && names.indexOf(tab) < 0) {
        names.push(tab);
      }
    });
    return names;
  }

  /* Runs of tab elements that follow each other as siblings, in document order. */
  function findRuns() {
    var candidates = document.querySelectorAll('.cell[class*="' + CODE_PREFIX + '"], .d2l-tab');
    var runs = [];
    var last = null;
    Array.prototype.forEach.call(candidates, function (element) {
      if (!tabsOf(element).length || (element.parentElement && element.parentElement.closest(".cell, .d2l-tab"))) {
        return;
      }
      if (last && last.nextElementSibling === element) {
        runs[runs.length - 1].push(element);
      } else {
        runs.push([element]);
      }
      last = element;
    });
    return runs;
  }

  function uniqueId(base) {
    var id = base;
    var count = 1;
    while (document.getElementById(id)) {
      count += 1;
      id = base + "-" + count;
    }
    return id;
  }

  function orderTabs(found, preferred) {
    var ordered = preferred.filter(function (tab) { return found.indexOf(tab) >= 0; });
    found.forEach(function (tab) {
      if (ordered.indexOf(tab) < 0) {
        ordered.push(tab);
      }
    });
    return ordered;
  }

  function buildGroup(run, index, preferred) {
    var found = [];
    run.forEach(function (element) {
      tabsOf(element).forEach(function (tab) {
        if (found.indexOf(tab) < 0) {
          found.push(tab);
        }
      });
    });
    var group = { tabs: orderTabs(found, preferred), buttons: {}, panels: run, selected: null };
    var container = document.createElement("div");
    container.className = "d2lbook-tabs";
    var bar = document.createElement("div");
    bar.className = "d2lbook-tabs-bar";
    bar.setAttribute("role", "tablist");
    bar.setAttribute("aria-label", "Framework");
    run[0].parentNode.insertBefore(container, run[0]);
    container.appendChild(bar);
    var prefix = uniqueId("d2lbook-tabs-" + index);
    group.tabs.forEach(function (tab) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "d2lbook-tabs-button";
      button.id = uniqueId(prefix + "-" + tab.replace(/[^A-Za-z0-9_-]/g, "_"));
      button.setAttribute("role", "tab");
      button.setAttribute("data-tab", tab);
      button.textContent = niceName(tab);
      bar.appendChild(button);
      group.buttons[tab] = button;
    });
    run.forEach(function (element, position) {
      if (!element.id) {
        element.id = uniqueId(prefix + "-panel-" + position);
      }
      var tabs = tabsOf(element);
      element.setAttribute("role", "tabpanel");
      element.setAttribute("tabindex", "0");
      element.setAttribute("aria-labelledby", group.buttons[tabs[0]].id);
      container.appendChild(element);
    });
    group.tabs.forEach(function (tab) {
      var controlled = run.filter(function (element) { return tabsOf(element).indexOf(tab) >= 0; });
      group.buttons[tab].setAttribute("aria-controls", controlled.map(function (element) {
        return element.id;
      }).join(" "));
    });
    bar.addEventListener("click", function (event) {
      var button = event.target.closest(".d2lbook-tabs-button");
      if (button) {
        choose(button.getAttribute("data-tab"), button);
      }
    });
    bar.addEventListener("keydown", function (event) { onKey(event, group); });
    return group;
  }

  function showTab(group, tab) {
    group.selected = tab;
    group.tabs.forEach(function (name) {
      var button = group.buttons[name];
      var active = name === tab;
      button.setAttribute("aria-selected", active ? "true" : "false");
      button.setAttribute("tabindex", active ? "0" : "-1");
      button.classList.toggle("d2lbook-tabs-active", active);
    });
    group.panels.forEach(function (element) {
      element.hidden = tabsOf(element).indexOf(tab) < 0;
    });
  }

  /* Switch every group that has `tab`; keep the clicked bar still on screen. */
  function choose(tab, anchor) {
    var before = anchor ? anchor.getBoundingClientRect().top : 0;
    groups.forEach(function (group) {
      if (group.tabs.indexOf(tab) >= 0) {
        showTab(group, tab);
      }
    });
    if (anchor) {
      window.scrollBy(0, anchor.getBoundingClientRect().top - before);
    }
    storeTab(tab);
  }

  function onKey(event, group) {
    var position = group.tabs.indexOf(group.selected);
    var target = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      target = group.tabs[(position + 1) % group.tabs.length];
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      target = group.tabs[(position - 1 + group.tabs.length) % group.tabs.length];
    } else if (event.key === "Home") {
      target = group.tabs[0];
    } else if (event.key === "End") {
      target = group.tabs[group.tabs.length - 1];
    } else if (event.key === "Enter" || event.key === " ") {
      var focused = event.target.closest(".d2lbook-tabs-button");
      target = focused ? focused.getAttribute("data-tab") : null;
    }
    if (target === null) {
      return;
    }
    event.preventDefault();
    choose(target, group.buttons[target]);
    group.buttons[target].focus();
  }

  function initialTab(group, stored, fallback) {
    if (stored && group.tabs.indexOf(stored) >= 0) {
      return stored;
    }
    if (fallback && group.tabs.indexOf(fallback) >= 0) {
      return fallback;
    }
    return group.tabs[0];
  }

  function setUp() {
    var preferred = configuredTabs();
    var runs = findRuns();
    if (!runs.length) {
      return;
    }
    runs.forEach(function (run, index) {
      groups.push(buildGroup(run, index, preferred));
    });
    var fallback = preferred.length ? preferred[0] : groups[0].tabs[0];
    var stored = readStoredTab();
    groups.forEach(function (group) {
      showTab(group, initialTab(group, stored, fallback));
    });
    window.addEventListener("storage", function (event) {
      if (event.key === STORAGE_KEY && event.newValue) {
        groups.forEach(function (group) {
          if (group.tabs.indexOf(event.newValue) >= 0) {
            showTab(group, event.newValue);
          }
        });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
