package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// wecomAuthorizeURL is WeCom's sign-in link for the test corp: WeChat's
// parameters, then extra (agentid first, as WeCom has it).
func wecomAuthorizeURL(scope, state, extra string) string {
	return pathOAuthAuthorize + "?appid=" + testCorpID +
		"&redirect_uri=" + url.QueryEscape(testRedirect) +
		"&response_type=code&scope=" + scope + state + extra
}

func TestWeComAuthorize(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	for _, tc := range []struct {
		name, target string
		cookies      []*http.Cookie
		wantStatus   int
		wantInBody   string
	}{
		{"WeCom's link", wecomAuthorizeURL("snsapi_base", "&state=S1", "&agentid="+testAgentID), nil, http.StatusFound, ""},
		{"no agentid", wecomAuthorizeURL("snsapi_base", "&state=S1", ""), nil, http.StatusFound, ""},
		{"no state, agentid after scope", wecomAuthorizeURL("snsapi_base", "", "&agentid="+testAgentID), nil, http.StatusFound, ""},
		{"privateinfo", wecomAuthorizeURL("snsapi_privateinfo", "&state=S1", "&agentid="+testAgentID), nil, http.StatusFound, ""},
		{"sandbox parameters after agentid", wecomAuthorizeURL("snsapi_base", "&state=S1", "&agentid="+testAgentID+"&user=li.lei&member=0"),
			nil, http.StatusFound, ""},
		{"agentid before state", pathOAuthAuthorize + "?appid=" + testCorpID + "&redirect_uri=" + url.QueryEscape(testRedirect) +
			"&response_type=code&scope=snsapi_base&agentid=" + testAgentID + "&state=S1", nil, http.StatusBadRequest,
			"the link must start with appid, redirect_uri, response_type, scope, state"},
		{"agentid after another parameter", wecomAuthorizeURL("snsapi_base", "&state=S1", "&user=u&agentid="+testAgentID),
			nil, http.StatusBadRequest, "agentid must come right after state"},
		{"unknown agentid", wecomAuthorizeURL("snsapi_base", "&state=S1", "&agentid=999"), nil, http.StatusBadRequest,
			`agentid "999" is not an agent of this corp`},
		{"empty agentid", wecomAuthorizeURL("snsapi_base", "&state=S1", "&agentid="), nil, http.StatusBadRequest, "is not an agent"},
		{"privateinfo without agentid", wecomAuthorizeURL("snsapi_privateinfo", "&state=S1", ""), nil, http.StatusBadRequest,
			"scope snsapi_privateinfo needs agentid"},
		{"snsapi_userinfo", wecomAuthorizeURL("snsapi_userinfo", "&state=S1", "&agentid="+testAgentID), nil, http.StatusBadRequest,
			"scope must be snsapi_base or snsapi_privateinfo for a WeCom corp"},
		{"response_type", strings.Replace(wecomAuthorizeURL("snsapi_base", "&state=S1", ""), "response_type=code", "response_type=token", 1),
			nil, http.StatusBadRequest, "response_type must be code"},
		{"relative redirect_uri", strings.Replace(wecomAuthorizeURL("snsapi_base", "&state=S1", ""), url.QueryEscape(testRedirect), "%2Fcb", 1),
			nil, http.StatusBadRequest, "redirect_uri must be an absolute"},
		{"state with a dash", wecomAuthorizeURL("snsapi_base", "&state=a-b", ""), nil, http.StatusBadRequest, "state must be"},
		{"member=2", wecomAuthorizeURL("snsapi_base", "&state=S1", "&agentid="+testAgentID+"&member=2"), nil, http.StatusBadRequest,
			"member must be 1"},
		{"member cookie 2", wecomAuthorizeURL("snsapi_base", "&state=S1", ""), []*http.Cookie{{Name: sandboxMemberCookie, Value: "2"}},
			http.StatusBadRequest, "member must be 1"},
		{"member with a userid WeCom refuses", wecomAuthorizeURL("snsapi_base", "&state=S1", "&user=%E6%9D%8E"), nil,
			http.StatusBadRequest, "a member's user (their userid)"},
		{"non-member with any name", wecomAuthorizeURL("snsapi_base", "&state=S1", "&user=%E6%9D%8E&member=0"), nil, http.StatusFound, ""},
		{"POST", "", nil, http.StatusMethodNotAllowed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, target := http.MethodGet, tc.target
			if tc.name == "POST" {
				method, target = http.MethodPost, wecomAuthorizeURL("snsapi_base", "&state=S1", "")
			}
			req, _ := http.NewRequest(method, target, nil)
			for _, c := range tc.cookies {
				req.AddCookie(c)
			}
			rec := serveReq(t, h, req)
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantInBody) {
				t.Fatalf("%d %q, want %d with %q", rec.Code, rec.Body.String(), tc.wantStatus, tc.wantInBody)
			}
			if rec.Code == http.StatusFound {
				loc, _ := url.Parse(rec.Header().Get("Location"))
				if loc.Query().Get("code") == "" || (strings.Contains(target, "state=S1") && loc.Query().Get("state") != "S1") {
					t.Fatalf("redirect %s", loc)
				}
			}
		})
	}
	// The Official Account's link still goes to WeChat's page.
	code, _ := authorize(t, h, authorizeURL(h, "S2", ""))
	if a := exchange(t, h, code); a.ErrCode != 0 || a.OpenID == "" {
		t.Fatalf("OA sign-in beside WeCom: %+v", a)
	}
}

// userInfo exchanges code with token at getuserinfo.
func userInfo(t *testing.T, h *Handler, token, code string) wecomAnswer {
	t.Helper()
	return wecomGet(t, h, pathWeComUserInfo, url.Values{"access_token": {token}, "code": {code}})
}

func TestWeComGetUserInfo(t *testing.T) {
	h, clk := newWeComTestHandler(t)
	token := wecomToken(t, h, testAgentSecret)
	token2 := wecomToken(t, h, testAgent2Secret)
	link := wecomAuthorizeURL("snsapi_base", "&state=S1", "&agentid="+testAgentID)

	t.Run("member", func(t *testing.T) {
		code, _ := authorize(t, h, link+"&user=li.lei")
		a := userInfo(t, h, token, code)
		if a.ErrCode != 0 || a.ErrMsg != "ok" || a.UserID != "li.lei" || a.OpenID != "" {
			t.Fatalf("%+v, want userid li.lei and no openid", a)
		}
		rec := serve(t, h, http.MethodGet, pathWeComUserInfo+"?"+url.Values{"access_token": {token}, "code": {code}}.Encode(), "")
		if strings.Contains(rec.Body.String(), "openid") {
			t.Errorf("a member's answer names openid: %s", rec.Body.String())
		}
	})
	t.Run("default member", func(t *testing.T) {
		code, _ := authorize(t, h, link)
		if a := userInfo(t, h, token, code); a.UserID != defaultSandboxUser {
			t.Fatalf("%+v, want userid %s", a, defaultSandboxUser)
		}
	})
	t.Run("member by cookie", func(t *testing.T) {
		code, _ := authorize(t, h, link, &http.Cookie{Name: sandboxUserCookie, Value: "han.meimei"},
			&http.Cookie{Name: sandboxMemberCookie, Value: "1"})
		if a := userInfo(t, h, token, code); a.UserID != "han.meimei" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("non-member", func(t *testing.T) {
		code, _ := authorize(t, h, link+"&user=guest&member=0")
		a := userInfo(t, h, token, code)
		if a.ErrCode != 0 || a.UserID != "" || a.OpenID != sandboxOpenID(testCorpID, "guest") || !strings.HasPrefix(a.OpenID, "o") {
			t.Fatalf("%+v, want the corp's openid of guest and no userid", a)
		}
		if a.OpenID == sandboxOpenID(h.AppID, "guest") {
			t.Error("the corp's openid equals the Official Account's")
		}
		code, _ = authorize(t, h, link, &http.Cookie{Name: sandboxUserCookie, Value: "guest"},
			&http.Cookie{Name: sandboxMemberCookie, Value: "0"})
		if b := userInfo(t, h, token2, code); b.ErrCode != 40029 {
			t.Fatalf("another agent's token: %+v, want 40029", b)
		}
		if b := userInfo(t, h, token, code); b.OpenID != a.OpenID {
			t.Fatalf("by cookie: %+v, want the same openid (and the code still usable after the refusal)", b)
		}
	})
	t.Run("link without agentid", func(t *testing.T) {
		code, _ := authorize(t, h, wecomAuthorizeURL("snsapi_base", "&state=S1", ""))
		if a := userInfo(t, h, token2, code); a.ErrCode != 0 || a.UserID != defaultSandboxUser {
			t.Fatalf("%+v: any agent's token takes a code of a link without agentid", a)
		}
	})
	t.Run("single use", func(t *testing.T) {
		code, _ := authorize(t, h, link)
		if a := userInfo(t, h, token, code); a.ErrCode != 0 {
			t.Fatalf("first use: %+v", a)
		}
		if a := userInfo(t, h, token, code); a.ErrCode != 40029 || !strings.Contains(a.ErrMsg, "code been used") {
			t.Fatalf("second use: %+v, want 40029", a)
		}
	})
	t.Run("five minutes", func(t *testing.T) {
		c1, _ := authorize(t, h, link)
		c2, _ := authorize(t, h, link)
		clk.advance(oauthCodeTTL - time.Second)
		if a := userInfo(t, h, token, c1); a.ErrCode != 0 {
			t.Fatalf("just before expiry: %+v", a)
		}
		clk.advance(time.Second)
		if a := userInfo(t, h, token, c2); a.ErrCode != 40029 {
			t.Fatalf("at expiry: %+v, want 40029", a)
		}
	})
	// The token outlives the codes above by far; the error cases:
	token = wecomToken(t, h, testAgentSecret)
	code, _ := authorize(t, h, link)
	for _, tc := range []struct {
		name  string
		query url.Values
		want  int
	}{
		{"no token", url.Values{"code": {code}}, 41001},
		{"bad token", url.Values{"access_token": {"x"}, "code": {code}}, 40014},
		{"the Official Account's token", url.Values{"access_token": {classicToken(t, h).AccessToken}, "code": {code}}, 40014},
		{"no code", url.Values{"access_token": {token}}, 41008},
		{"unknown code", url.Values{"access_token": {token}, "code": {"nosuchcode"}}, 40029},
		{"an OA code", url.Values{"access_token": {token}, "code": {func() string { c, _ := authorize(t, h, authorizeURL(h, "S", "")); return c }()}}, 40029},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := wecomGet(t, h, pathWeComUserInfo, tc.query)
			if a.ErrCode != tc.want || a.UserID != "" || a.OpenID != "" || !wecomErrmsgRE.MatchString(a.ErrMsg) {
				t.Fatalf("%+v, want errcode %d", a, tc.want)
			}
		})
	}
	if a := userInfo(t, h, token, code); a.ErrCode != 0 {
		t.Fatalf("the code after the refused calls: %+v", a)
	}
	// 19 exchanges: 14 with agent 1's token, 2 with agent 2's, 3 with no
	// token the sandbox knows.
	if st := h.wecomStats(); st.GetUserInfo != 19 || st.Agents[testAgentID].GetUserInfo != 14 || st.Agents[testAgent2ID].GetUserInfo != 2 {
		t.Errorf("getuserinfo counts: %+v", *st)
	}
}
