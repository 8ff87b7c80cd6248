//! The graph as an image: laid out by `layout-rs` (a layered, Graphviz-like layout in pure
//! Rust: no `dot` to install), drawn by [`SvgCanvas`] in the colours of the console's
//! graph view, and rasterised to PNG by `resvg` when asked.
//!
//! Each state is a box whose first text line is its name and second its status, duration
//! and retries; the box carries `data-state` and `data-status`, and a `<title>` with the
//! error. Transitions taken are dark and solid, the others light and dashed.
use std::fmt::Write as _;

use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::model::{ExecutionGraph, StateView, Status};
use crate::output::text::duration;

const FONT_SIZE: usize = 13;
/// Transitions taken, and the others.
const TAKEN: &str = "#202124";
const OTHER: &str = "#bdc1c6";

/// Fill and stroke of a state box, by status.
fn colours(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Succeeded => ("#e6f4ea", "#1e8e3e"),
        Status::Caught => ("#fef3e0", "#e37400"),
        Status::Failed => ("#fce8e6", "#d93025"),
        Status::InProgress => ("#e8f0fe", "#1a73e8"),
        Status::Aborted => ("#f1f3f4", "#5f6368"),
        Status::NotRun => ("#ffffff", "#9aa0a6"),
    }
}

/// The second line of a state's box.
pub fn status_line(state: &StateView) -> String {
    let mut line = state.status.as_str().to_string();
    if let Some(ms) = state.duration_ms {
        let _ = write!(line, " · {}", duration(ms));
    }
    if state.retries > 0 {
        let _ = write!(
            line,
            " · {} retr{}",
            state.retries,
            if state.retries == 1 { "y" } else { "ies" }
        );
    }
    line
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The graph as an SVG document.
pub fn render(graph: &ExecutionGraph) -> String {
    let mut vg = VisualGraph::new(Orientation::TopToBottom);
    let mut handles = std::collections::HashMap::new();
    for (index, state) in graph.states.iter().enumerate() {
        let label = format!("{}\n{}", state.name, status_line(state));
        let chars = label.lines().map(|l| l.chars().count()).max().unwrap_or(1);
        let size = Point::new(chars as f64 * 7.6 + 28.0, 44.0);
        let (fill, stroke) = colours(state.status);
        let look = StyleAttr::new(
            Color::fast(stroke),
            if state.status == Status::NotRun { 1 } else { 2 },
            Some(Color::fast(fill)),
            8,
            FONT_SIZE,
        );
        let element = Element::create_with_properties(
            ShapeKind::new_box(&label),
            look,
            Orientation::LeftToRight,
            size,
            index.to_string(),
        );
        handles.insert(state.name.as_str(), vg.add_node(element));
    }
    for edge in &graph.edges {
        let (Some(&from), Some(&to)) = (
            handles.get(edge.from.as_str()),
            handles.get(edge.to.as_str()),
        ) else {
            continue;
        };
        let look = if edge.taken {
            StyleAttr::new(Color::fast(TAKEN), 2, None, 0, 11)
        } else {
            StyleAttr::new(Color::fast(OTHER), 1, None, 0, 11)
        };
        let style = if edge.taken {
            LineStyleKind::Normal
        } else {
            LineStyleKind::Dashed
        };
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            style,
            "",
            &look,
            &None,
            &None,
        );
        vg.add_edge(arrow, from, to);
    }
    let mut canvas = SvgCanvas::new(graph);
    vg.do_it(false, false, false, &mut canvas);
    canvas.finish()
}

/// A `layout-rs` render backend that writes Cordon's SVG.
pub struct SvgCanvas<'g> {
    graph: &'g ExecutionGraph,
    body: String,
    width: f64,
    height: f64,
}

impl<'g> SvgCanvas<'g> {
    fn new(graph: &'g ExecutionGraph) -> Self {
        Self {
            graph,
            body: String::new(),
            width: 0.0,
            height: 0.0,
        }
    }

    fn grow(&mut self, x: f64, y: f64) {
        self.width = self.width.max(x + 10.0);
        self.height = self.height.max(y + 10.0);
    }

    fn finish(self) -> String {
        let header_height = 56.0;
        let title = format!(
            "{} — {}{}",
            self.graph.execution_arn,
            self.graph.status,
            self.graph
                .duration_ms
                .map(|d| format!(" in {}", duration(d)))
                .unwrap_or_default()
        );
        let width = self.width.max(640.0);
        let height = self.height + header_height;
        let mut out = String::new();
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" \
             font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        );
        out.push_str("<defs>");
        for (id, colour) in [("taken", TAKEN), ("other", OTHER)] {
            let _ = write!(
                out,
                "<marker id=\"arrow-{id}\" markerWidth=\"10\" markerHeight=\"7\" refX=\"10\" \
                 refY=\"3.5\" orient=\"auto\"><polygon points=\"0 0, 10 3.5, 0 7\" \
                 fill=\"{colour}\"/></marker>"
            );
        }
        out.push_str("</defs>\n");
        let _ = write!(
            out,
            "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"12\" y=\"22\" \
             font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            escape(&title)
        );
        let legend = [
            Status::Succeeded,
            Status::Caught,
            Status::Failed,
            Status::InProgress,
            Status::NotRun,
        ];
        let mut x = 12.0;
        for status in legend {
            let (fill, stroke) = colours(status);
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"32\" width=\"12\" height=\"12\" rx=\"3\" fill=\"{fill}\" \
                 stroke=\"{stroke}\"/><text x=\"{}\" y=\"42\" font-size=\"11\">{}</text>",
                x + 16.0,
                status.as_str()
            );
            x += 24.0 + status.as_str().len() as f64 * 7.0;
        }
        let _ = writeln!(out, "<g transform=\"translate(0 {header_height})\">");
        out.push_str(&self.body);
        out.push_str("</g>\n</svg>\n");
        out
    }
}

impl RenderBackend for SvgCanvas<'_> {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        self.grow(xy.x + size.x, xy.y + size.y);
        let state = properties
            .and_then(|p| p.parse::<usize>().ok())
            .and_then(|i| self.graph.states.get(i));
        let fill = look
            .fill_color
            .map(|c| c.to_web_color())
            .unwrap_or_else(|| "none".into());
        let mut attrs = String::new();
        let mut title = String::new();
        if let Some(s) = state {
            let _ = write!(
                attrs,
                " class=\"state\" data-state=\"{}\" data-status=\"{}\" data-type=\"{}\"",
                escape(&s.name),
                s.status.as_str(),
                escape(&s.kind)
            );
            let mut text = format!("{} ({}): {}", s.name, s.kind, status_line(s));
            if let Some(e) = &s.error {
                let _ = write!(text, "\n{e}");
            }
            title = format!("<title>{}</title>", escape(&text));
        }
        let dash = if state.is_some_and(|s| s.status == Status::NotRun) {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{}\" \
             fill=\"{fill}\" stroke=\"{}\" stroke-width=\"{}\"{dash}{attrs}>{title}</rect>",
            xy.x,
            xy.y,
            size.x,
            size.y,
            look.rounded,
            look.line_color.to_web_color(),
            look.line_width,
        );
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        look: &StyleAttr,
        _properties: Option<String>,
    ) {
        self.grow(start.x.max(stop.x), start.y.max(stop.y));
        let _ = writeln!(
            self.body,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" \
             stroke-width=\"{}\"/>",
            start.x,
            start.y,
            stop.x,
            stop.y,
            look.line_color.to_web_color(),
            look.line_width
        );
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        _properties: Option<String>,
    ) {
        self.grow(xy.x + size.x, xy.y + size.y);
        let _ = writeln!(
            self.body,
            "<ellipse cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\" fill=\"{}\" \
             stroke=\"{}\"/>",
            xy.x,
            xy.y,
            size.x / 2.0,
            size.y / 2.0,
            look.fill_color
                .map(|c| c.to_web_color())
                .unwrap_or_else(|| "none".into()),
            look.line_color.to_web_color()
        );
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return;
        }
        let line_height = look.font_size as f64 * 1.3;
        let top = xy.y - line_height * (lines.len() as f64 - 1.0) / 2.0;
        let mut spans = String::new();
        for (i, line) in lines.iter().enumerate() {
            let weight = if i == 0 && lines.len() > 1 {
                " font-weight=\"bold\""
            } else {
                ""
            };
            let _ = write!(
                spans,
                "<tspan x=\"{:.1}\" y=\"{:.1}\"{weight}>{}</tspan>",
                xy.x,
                top + line_height * i as f64,
                escape(line)
            );
        }
        let _ = writeln!(
            self.body,
            "<text text-anchor=\"middle\" dominant-baseline=\"middle\" font-size=\"{}\">{spans}</text>",
            look.font_size
        );
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        _properties: Option<String>,
        _text: &str,
    ) {
        // A cubic Bézier path as layout-rs gives it: `M p0.0 C p0.1, p1.0, p1.1`, then
        // `S pN.0, pN.1` (control point, then point) for the rest.
        if path.len() < 2 {
            return;
        }
        for (a, b) in path {
            self.grow(a.x.max(b.x), a.y.max(b.y));
        }
        let mut d = format!(
            "M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
            path[0].0.x,
            path[0].0.y,
            path[0].1.x,
            path[0].1.y,
            path[1].0.x,
            path[1].0.y,
            path[1].1.x,
            path[1].1.y
        );
        for (control, point) in path.iter().skip(2) {
            let _ = write!(
                d,
                " S {:.1} {:.1}, {:.1} {:.1}",
                control.x, control.y, point.x, point.y
            );
        }
        let dash = if dashed {
            " stroke-dasharray=\"5 4\""
        } else {
            ""
        };
        let marker = if dashed { "other" } else { "taken" };
        let end = if head.1 {
            format!(" marker-end=\"url(#arrow-{marker})\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            self.body,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{dash}{end}/>",
            look.line_color.to_web_color(),
            look.line_width
        );
    }

    fn create_clip(&mut self, _xy: Point, _size: Point, _rounded_px: usize) -> ClipHandle {
        0
    }
}

/// The SVG as a PNG, with the system's fonts.
pub fn to_png(svg: &str) -> anyhow::Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| anyhow::anyhow!("the graph is too large to rasterise"))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}
