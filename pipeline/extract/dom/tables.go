package dom

// Tables of libxml2 2.9.14's HTML parser (HTMLparser.c), which decide the tree
// shape of malformed HTML.

// startClose maps an open element to the start tags that close it implicitly
// (htmlStartClose).
var startClose = map[string]map[string]bool{
	"a":        {"a": true, "fieldset": true, "table": true, "td": true, "th": true},
	"address":  {"dd": true, "dl": true, "dt": true, "form": true, "li": true, "ul": true},
	"b":        {"center": true, "p": true, "td": true, "th": true},
	"big":      {"p": true},
	"caption":  {"col": true, "colgroup": true, "tbody": true, "tfoot": true, "thead": true, "tr": true},
	"col":      {"col": true, "colgroup": true, "tbody": true, "tfoot": true, "thead": true, "tr": true},
	"colgroup": {"colgroup": true, "tbody": true, "tfoot": true, "thead": true, "tr": true},
	"dd":       {"dt": true},
	"dir":      {"dd": true, "dl": true, "dt": true, "form": true, "ul": true},
	"dl":       {"form": true, "li": true},
	"dt":       {"dd": true, "dl": true},
	"font":     {"center": true, "td": true, "th": true},
	"form":     {"form": true},
	"h1":       {"fieldset": true, "form": true, "li": true, "p": true, "table": true},
	"h2":       {"fieldset": true, "form": true, "li": true, "p": true, "table": true},
	"h3":       {"fieldset": true, "form": true, "li": true, "p": true, "table": true},
	"h4":       {"fieldset": true, "form": true, "li": true, "p": true, "table": true},
	"h5":       {"fieldset": true, "form": true, "li": true, "p": true, "table": true},
	"h6":       {"fieldset": true, "form": true, "li": true, "p": true, "table": true},
	"head":     {"a": true, "abbr": true, "acronym": true, "address": true, "b": true, "bdo": true, "big": true, "blockquote": true, "body": true, "br": true, "center": true, "cite": true, "code": true, "dd": true, "dfn": true, "dir": true, "div": true, "dl": true, "dt": true, "em": true, "fieldset": true, "font": true, "form": true, "frameset": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "i": true, "iframe": true, "img": true, "kbd": true, "li": true, "listing": true, "map": true, "menu": true, "ol": true, "p": true, "pre": true, "q": true, "s": true, "samp": true, "small": true, "span": true, "strike": true, "strong": true, "sub": true, "sup": true, "table": true, "tt": true, "u": true, "ul": true, "var": true, "xmp": true},
	"hr":       {"form": true},
	"i":        {"center": true, "p": true, "td": true, "th": true},
	"legend":   {"fieldset": true},
	"li":       {"li": true},
	"link":     {"body": true, "frameset": true},
	"listing":  {"dd": true, "dl": true, "dt": true, "fieldset": true, "form": true, "li": true, "table": true, "ul": true},
	"menu":     {"dd": true, "dl": true, "dt": true, "form": true, "ul": true},
	"ol":       {"form": true, "ul": true},
	"option":   {"optgroup": true, "option": true},
	"p":        {"address": true, "blockquote": true, "body": true, "caption": true, "center": true, "col": true, "colgroup": true, "dd": true, "dir": true, "div": true, "dl": true, "dt": true, "fieldset": true, "form": true, "frameset": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "head": true, "hr": true, "li": true, "listing": true, "menu": true, "ol": true, "p": true, "pre": true, "table": true, "tbody": true, "td": true, "tfoot": true, "th": true, "title": true, "tr": true, "ul": true, "xmp": true},
	"pre":      {"dd": true, "dl": true, "dt": true, "fieldset": true, "form": true, "li": true, "table": true, "ul": true},
	"s":        {"p": true},
	"script":   {"noscript": true},
	"small":    {"p": true},
	"span":     {"td": true, "th": true},
	"strike":   {"p": true},
	"style":    {"body": true, "frameset": true},
	"tbody":    {"tbody": true, "tfoot": true},
	"td":       {"tbody": true, "td": true, "tfoot": true, "th": true, "tr": true},
	"tfoot":    {"tbody": true},
	"th":       {"tbody": true, "td": true, "tfoot": true, "th": true, "tr": true},
	"thead":    {"tbody": true, "tfoot": true},
	"title":    {"body": true, "frameset": true},
	"tr":       {"tbody": true, "tfoot": true, "tr": true},
	"tt":       {"p": true},
	"u":        {"p": true, "td": true, "th": true},
	"ul":       {"address": true, "form": true, "menu": true, "ol": true, "pre": true},
	"xmp":      {"dd": true, "dl": true, "dt": true, "fieldset": true, "form": true, "li": true, "table": true, "ul": true},
}

// entities are the named character references libxml2 knows (HTML 4:
// html40EntitiesTable); any other name stays literal text.
var entities = map[string]rune{
	"quot": 34, "amp": 38, "apos": 39, "lt": 60, "gt": 62, "nbsp": 160, "iexcl": 161, "cent": 162,
	"pound": 163, "curren": 164, "yen": 165, "brvbar": 166, "sect": 167, "uml": 168, "copy": 169,
	"ordf": 170, "laquo": 171, "not": 172, "shy": 173, "reg": 174, "macr": 175, "deg": 176, "plusmn": 177, "sup2": 178, "sup3": 179, "acute": 180, "micro": 181, "para": 182, "middot": 183, "cedil": 184,
	"sup1": 185, "ordm": 186, "raquo": 187, "frac14": 188, "frac12": 189, "frac34": 190, "iquest": 191,
	"Agrave": 192, "Aacute": 193, "Acirc": 194, "Atilde": 195, "Auml": 196, "Aring": 197, "AElig": 198,
	"Ccedil": 199, "Egrave": 200, "Eacute": 201, "Ecirc": 202, "Euml": 203, "Igrave": 204, "Iacute": 205, "Icirc": 206, "Iuml": 207, "ETH": 208, "Ntilde": 209, "Ograve": 210, "Oacute": 211, "Ocirc": 212, "Otilde": 213, "Ouml": 214, "times": 215, "Oslash": 216, "Ugrave": 217, "Uacute": 218, "Ucirc": 219, "Uuml": 220, "Yacute": 221, "THORN": 222, "szlig": 223, "agrave": 224, "aacute": 225, "acirc": 226, "atilde": 227, "auml": 228, "aring": 229, "aelig": 230, "ccedil": 231, "egrave": 232, "eacute": 233, "ecirc": 234, "euml": 235, "igrave": 236, "iacute": 237, "icirc": 238, "iuml": 239, "eth": 240,
	"ntilde": 241, "ograve": 242, "oacute": 243, "ocirc": 244, "otilde": 245, "ouml": 246, "divide": 247, "oslash": 248, "ugrave": 249, "uacute": 250, "ucirc": 251, "uuml": 252, "yacute": 253, "thorn": 254, "yuml": 255, "OElig": 338, "oelig": 339, "Scaron": 352, "scaron": 353, "Yuml": 376, "fnof": 402, "circ": 710, "tilde": 732, "Alpha": 913, "Beta": 914, "Gamma": 915, "Delta": 916, "Epsilon": 917, "Zeta": 918, "Eta": 919, "Theta": 920, "Iota": 921, "Kappa": 922, "Lambda": 923, "Mu": 924,
	"Nu": 925, "Xi": 926, "Omicron": 927, "Pi": 928, "Rho": 929, "Sigma": 931, "Tau": 932, "Upsilon": 933, "Phi": 934, "Chi": 935, "Psi": 936, "Omega": 937, "alpha": 945, "beta": 946, "gamma": 947,
	"delta": 948, "epsilon": 949, "zeta": 950, "eta": 951, "theta": 952, "iota": 953, "kappa": 954,
	"lambda": 955, "mu": 956, "nu": 957, "xi": 958, "omicron": 959, "pi": 960, "rho": 961, "sigmaf": 962, "sigma": 963, "tau": 964, "upsilon": 965, "phi": 966, "chi": 967, "psi": 968, "omega": 969,
	"thetasym": 977, "upsih": 978, "piv": 982, "ensp": 8194, "emsp": 8195, "thinsp": 8201, "zwnj": 8204,
	"zwj": 8205, "lrm": 8206, "rlm": 8207, "ndash": 8211, "mdash": 8212, "lsquo": 8216, "rsquo": 8217,
	"sbquo": 8218, "ldquo": 8220, "rdquo": 8221, "bdquo": 8222, "dagger": 8224, "Dagger": 8225, "bull": 8226, "hellip": 8230, "permil": 8240, "prime": 8242, "Prime": 8243, "lsaquo": 8249, "rsaquo": 8250,
	"oline": 8254, "frasl": 8260, "euro": 8364, "image": 8465, "weierp": 8472, "real": 8476, "trade": 8482, "alefsym": 8501, "larr": 8592, "uarr": 8593, "rarr": 8594, "darr": 8595, "harr": 8596,
	"crarr": 8629, "lArr": 8656, "uArr": 8657, "rArr": 8658, "dArr": 8659, "hArr": 8660, "forall": 8704,
	"part": 8706, "exist": 8707, "empty": 8709, "nabla": 8711, "isin": 8712, "notin": 8713, "ni": 8715,
	"prod": 8719, "sum": 8721, "minus": 8722, "lowast": 8727, "radic": 8730, "prop": 8733, "infin": 8734, "ang": 8736, "and": 8743, "or": 8744, "cap": 8745, "cup": 8746, "int": 8747, "there4": 8756,
	"sim": 8764, "cong": 8773, "asymp": 8776, "ne": 8800, "equiv": 8801, "le": 8804, "ge": 8805, "sub": 8834, "sup": 8835, "nsub": 8836, "sube": 8838, "supe": 8839, "oplus": 8853, "otimes": 8855, "perp": 8869, "sdot": 8901, "lceil": 8968, "rceil": 8969, "lfloor": 8970, "rfloor": 8971, "lang": 9001,
	"rang": 9002, "loz": 9674, "spades": 9824, "clubs": 9827, "hearts": 9829, "diams": 9830,
}

// atoms are names the parser returns without allocating.
var atoms = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"a", "abbr", "acronym", "address", "applet", "area", "article", "aside", "audio", "b", "base",
		"basefont", "bdi", "bdo", "big", "blockquote", "body", "br", "button", "canvas", "caption",
		"center", "cite", "code", "col", "colgroup", "data", "datalist", "dd", "del", "details", "dfn",
		"dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption", "figure", "font",
		"footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header",
		"hgroup", "hr", "html", "i", "iframe", "img", "input", "ins", "isindex", "kbd", "label",
		"legend", "li", "link", "main", "map", "mark", "menu", "meta", "meter", "nav", "noframes",
		"noscript", "object", "ol", "optgroup", "option", "output", "p", "param", "picture", "pre",
		"progress", "q", "rp", "rt", "ruby", "s", "samp", "script", "section", "select", "small",
		"source", "span", "strike", "strong", "style", "sub", "summary", "sup", "svg", "path", "g",
		"table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr",
		"track", "tt", "u", "ul", "var", "video", "wbr", "use", "math",
		// attributes
		"id", "class", "style", "href", "src", "alt", "title", "rel", "type", "name", "content",
		"width", "height", "target", "role", "lang", "itemprop", "itemscope", "itemtype", "property",
		"value", "action", "method", "for", "border", "align", "valign", "colspan", "rowspan",
		"cellpadding", "cellspacing", "bgcolor", "data-src", "srcset", "sizes", "loading", "charset",
		"http-equiv", "onclick", "aria-label", "aria-hidden", "tabindex", "dir", "media", "async",
		"defer", "crossorigin", "integrity", "placeholder", "xmlns", "data-id", "data-testid",
	} {
		m[s] = s
	}
	return m
}()
